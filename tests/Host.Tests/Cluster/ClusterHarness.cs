using k8s;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Host.Cluster;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Reconciliation;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Tests.FakeKubernetesApi;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// One daemon in cluster mode, composed exactly as the command line composes it, against the fake API server, with its
/// pool on loopback. Stopping it is what SIGTERM does.
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<ServiceController> _controller = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ClusterHarness(FakeApiServer api, string pool, KubernetesAdapterOptions options, IKubernetes? client)
    {
        Log = new SharedWriter();
        Run = Task.Run(() => ClusterMode.RunAsync(
            options,
            new AllocationOptions { Pool = pool },
            new ForwarderOptions(),
            linkDevice: null,
            new AnnouncementOptions { Enabled = false },
            kubeconfig: null,
            Log,
            _stop.Token,
            client ?? api.CreateClient(),
            controller => _controller.TrySetResult(controller)));
    }

    public SharedWriter Log { get; }

    public Task<int> Run { get; }

    public static KubernetesAdapterOptions Options(string identity = "test", bool leaderElection = false, BackendMode backends = BackendMode.NodePorts,
        string? loadBalancerClass = null) => new()
    {
        Services = new KubernetesServiceOptions { Backends = backends, LoadBalancerClass = loadBalancerClass },
        Informers = new InformerOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(500) },
        LeaderElection = new LeaderElectionOptions { Enabled = leaderElection, Namespace = "kube-system", Name = "llb-test", Identity = identity },
        Controller = new ControllerOptions { ShutdownDrain = TimeSpan.Zero },
    };

    /// <param name="client">The daemon's client, e.g. one whose requests a test fails; by default a plain one.</param>
    public static ClusterHarness Start(FakeApiServer api, string pool, KubernetesAdapterOptions? options = null, IKubernetes? client = null) =>
        new(api, pool, options ?? Options(), client);

    public async Task<ServiceController> ControllerAsync() =>
        await _controller.Task.WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>Waits until this daemon leads and has reconciled every Service once.</summary>
    public async Task ReadyAsync(TimeSpan? limit = null)
    {
        var controller = await ControllerAsync();
        try
        {
            await controller.Ready.WaitAsync(limit ?? TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the daemon did not become ready; its log:\n{Log}");
        }
    }

    /// <summary>SIGTERM: stands down, keeps status, releases the Lease; returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await Run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    public async ValueTask DisposeAsync()
    {
        if (!Run.IsCompleted)
        {
            await _stop.CancelAsync();
            try
            {
                await Run.WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (Exception failure) when (failure is TimeoutException or OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }
}

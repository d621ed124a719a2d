using k8s;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Host.Tests.Support;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using LoadBalancer.Tests.FakeKubernetesApi;
using LoadBalancer.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// One daemon in cluster mode, composed exactly as the command line composes it, against the fake API server, with its
/// pool on loopback. Stopping it is what SIGTERM does.
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    /// <summary>The command line's reconciler, without the shutdown drain (tests that time the drain set their own).</summary>
    public static readonly ReconcilerOptions Reconciler = new() { ShutdownDrain = TimeSpan.Zero, HandOverDrain = TimeSpan.Zero };

    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<IServiceProvider> _container = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ClusterHarness(FakeApiServer api, string pool, KubernetesAdapterOptions options, IKubernetes? client, ReconcilerOptions reconciler, string[] flags)
    {
        Log = new SharedWriter();
        var seams = InProcess.Seams(Log) with
        {
            KubernetesClient = client ?? api.CreateClient(),
            KubernetesAdapter = _ => options,
            Services = services => services.Replace(ServiceDescriptor.Singleton<IOptions<ReconcilerOptions>>(Microsoft.Extensions.Options.Options.Create(reconciler))),
            Built = provider => _container.TrySetResult(provider),
        };
        // --debug: the allocator's line for each attempt is how tests count attempts that leave nothing in the API.
        Run = Task.Run(() => LoadBalancerApp.RunAsync(["--restricted-cidr", pool, "--no-announce", "--debug", .. flags], TextWriter.Null, Log, _stop.Token, seams));
    }

    public SharedWriter Log { get; }

    public Task<int> Run { get; }

    public static KubernetesAdapterOptions Options(string identity = "test", bool leaderElection = false, BackendMode backends = BackendMode.NodePorts,
        string? loadBalancerClass = null, bool tagWorkerNodes = false) => new()
    {
        Services = new KubernetesServiceOptions { Backends = backends, LoadBalancerClass = loadBalancerClass },
        Informers = new InformerOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(500) },
        LeaderElection = new LeaderElectionOptions { Enabled = leaderElection, Namespace = "kube-system", Name = "llb-test", Identity = identity },
        WorkerNodes = new WorkerNodeOptions { Tag = tagWorkerNodes },
    };

    /// <param name="client">The daemon's client, e.g. one whose requests a test fails; by default a plain one.</param>
    /// <param name="reconciler">By default <see cref="Reconciler"/>.</param>
    /// <param name="flags">More command-line flags, e.g. <c>--admin-address</c>.</param>
    public static ClusterHarness Start(
        FakeApiServer api, string pool, KubernetesAdapterOptions? options = null, IKubernetes? client = null, ReconcilerOptions? reconciler = null,
        params string[] flags) =>
        new(api, pool, options ?? Options(), client, reconciler ?? Reconciler, flags);

    /// <summary>The daemon's container, once built.</summary>
    public async Task<IServiceProvider> ContainerAsync()
    {
        try
        {
            return await _container.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the daemon built no container (exited: {Run.IsCompleted}); its log:\n{Log}");
        }
    }

    /// <summary>The reconcile core: whether this daemon serves, and when its term is ready.</summary>
    public async Task<IServiceReconciler> ReconcilerAsync() => (await ContainerAsync()).GetRequiredService<IServiceReconciler>();

    /// <summary>The cluster as the daemon reads it: <see cref="IServiceSource.Ready"/> once its caches are synced.</summary>
    public async Task<IServiceSource> SourceAsync() => (await ContainerAsync()).GetRequiredService<IServiceSource>();

    /// <summary>Waits until this daemon serves and has reconciled every Service once.</summary>
    public async Task ReadyAsync(TimeSpan? limit = null)
    {
        var reconciler = await ReconcilerAsync();
        try
        {
            await reconciler.Ready.WaitAsync(limit ?? TimeSpan.FromSeconds(15));
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

using System.Diagnostics.CodeAnalysis;
using System.Net;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Cluster;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.EndToEnd.Tests.Support;
using LoadBalancer.Host.Tests.Cluster;

namespace LoadBalancer.EndToEnd.Tests.BadInput;

/// <summary>
/// What the bad-input cases share, started by the first of them: one daemon of the real binary on its own share of the
/// real API server, one worker Node whose NodePorts are echo backends of this test, and a healthy Service created
/// before any bad one, asked without pause through its LB IP until the last case is done.
/// </summary>
[SuppressMessage("Reliability", "CA1001", Justification = "xunit 2 disposes a class fixture through IAsyncLifetime only (not IAsyncDisposable).")]
public sealed class BadInputStage : IAsyncLifetime
{
    /// <summary>The pool of automatic IPs (--restricted-cidr).</summary>
    public const string Pool = "127.0.129.0/28";

    /// <summary>A named pool of one address that only Services asking for it use: one port on it fills it.</summary>
    public const string TinyPool = "tiny";

    public const string TinyPoolIp = "127.0.129.200";

    /// <summary>The worker Node's InternalIP, where the backends listen on the NodePorts the API server gave.</summary>
    public const string NodeIp = "127.0.0.224";

    public const string HealthyName = "healthy";

    public const int HealthyPort = 8080;

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-e2e-badinput-");
    private readonly List<EchoBackend> _backends = [];
    private Task? _started;
    private TestCluster? _cluster;
    private ClusterDaemon? _daemon;
    private TrafficLoop? _traffic;

    internal TestCluster Cluster => _cluster ?? throw new InvalidOperationException("not started");

    internal ClusterDaemon Daemon => _daemon ?? throw new InvalidOperationException("not started");

    internal TrafficLoop Traffic => _traffic ?? throw new InvalidOperationException("not started");

    public string HealthyIp { get; private set; } = string.Empty;

    /// <summary>How long the daemon took from its start to the healthy Service's status.</summary>
    public TimeSpan StartToServed { get; private set; }

    /// <summary>Starts everything once; every case calls it, the first one does the work.</summary>
    internal Task StartAsync(ControlPlaneFixture controlPlane) => _started ??= StartCoreAsync(controlPlane);

    /// <summary>Echo backends named after the Service on the worker's NodePorts of <paramref name="service"/>.</summary>
    internal void ServeNodePorts(V1Service service)
    {
        foreach (var port in service.Spec.Ports.Where(port => port.NodePort is > 0))
        {
            _backends.Add(new EchoBackend(service.Name(), IPAddress.Parse(NodeIp), port.NodePort!.Value));
        }
    }

    private async Task StartCoreAsync(ControlPlaneFixture controlPlane)
    {
        _cluster = await TestCluster.CreateAsync(controlPlane);
        await _cluster.CreateNodeAsync("worker", NodeIp);
        var config = Path.Combine(_folder.FullName, "config.yaml");
        await File.WriteAllTextAsync(config, $"pools:\n  - name: {TinyPool}\n    addresses: [\"{TinyPoolIp}/32\"]\n    autoAssign: false\n");

        var started = DateTime.UtcNow;
        _daemon = await ClusterDaemon.StartAsync(_cluster, _folder.FullName, Pool, flags: ["--no-announce", "--config", config]);
        ServeNodePorts(await _cluster.CreateServiceAsync(HealthyName, [new ServicePort(HealthyPort)]));
        HealthyIp = await KubeObjects.IngressEventuallyAsync(_cluster.Admin, _cluster.Namespace, HealthyName, Limit, _daemon.ToString);
        StartToServed = DateTime.UtcNow - started;
        _traffic = new TrafficLoop(HealthyIp, HealthyPort, $"{HealthyName}:ping");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_traffic is not null)
        {
            await _traffic.DisposeAsync();
        }

        _daemon?.Dispose();
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _folder.Delete(recursive: true);
    }
}

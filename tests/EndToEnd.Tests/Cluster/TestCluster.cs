using System.Security.Cryptography;
using k8s;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Kubernetes;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// One test's share of the real API server: its own namespace, loadBalancerClass, worker label and Lease, so that the
/// daemons of one test never serve another test's Services or forward to its Nodes (namespaces, Services and Nodes of
/// earlier tests stay behind: a deleted namespace never finishes without a controller manager). Disposing deletes the
/// Services and Nodes it created.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public const string WorkerLabel = "e2e.little-load-balancer/test";

    private readonly List<string> _nodes = [];

    private TestCluster(KubeApiServer server, string ns, string id)
    {
        Server = server;
        Namespace = ns;
        Id = id;
        Admin = server.AdminClient();
    }

    public KubeApiServer Server { get; }

    public IKubernetes Admin { get; }

    public string Namespace { get; }

    /// <summary>Unique to this test: its class, worker label value and Lease name.</summary>
    public string Id { get; }

    public string LoadBalancerClass => $"e2e.little-load-balancer/{Id}";

    public string LeaseName => $"llb-{Id}";

    /// <summary>
    /// The flags that confine a daemon to this test: its class only (--ignore-unclassed), its labelled Nodes, its Lease
    /// in the manifest's namespace (kube-system, where the manifest's Role grants Leases).
    /// </summary>
    public IReadOnlyList<string> DaemonFlags =>
    [
        "--load-balancer-class", LoadBalancerClass, "--ignore-unclassed",
        "--worker-selector", $"{WorkerLabel}={Id}",
        "--lease-namespace", "kube-system", "--lease-name", LeaseName,
    ];

    public static async Task<TestCluster> CreateAsync(ControlPlaneFixture controlPlane)
    {
        var server = await controlPlane.ServerAsync();
        var ns = await server.CreateNamespaceAsync();
        return new TestCluster(server, ns, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
    }

    /// <summary>A Service of type LoadBalancer of this test's class (unless <paramref name="loadBalancerClass"/> says otherwise).</summary>
    public Task<V1Service> CreateServiceAsync(
        string name, IReadOnlyList<ServicePort> ports, string? loadBalancerIp = null, IDictionary<string, string>? annotations = null,
        IList<string>? sourceRanges = null, string? loadBalancerClass = "", CancellationToken cancellationToken = default) =>
        KubeObjects.CreateServiceAsync(
            Admin, Namespace, name, ports, loadBalancerIp, loadBalancerClass == string.Empty ? LoadBalancerClass : loadBalancerClass,
            annotations, sourceRanges, cancellationToken);

    /// <summary>
    /// A Ready worker Node of this test (its name gets the test's id) with <paramref name="internalIp"/>; without
    /// <paramref name="labelled"/> it lacks the test's worker label (for --tag-worker-nodes to add).
    /// </summary>
    public async Task<string> CreateNodeAsync(string name, string internalIp, bool ready = true, bool labelled = true)
    {
        var full = $"{name}-{Id}";
        _nodes.Add(full);
        await KubeObjects.CreateNodeAsync(Admin, full, internalIp, ready);
        if (!labelled)
        {
            return full;
        }

        await Admin.CoreV1.PatchNodeAsync(
            new V1Patch($"{{\"metadata\":{{\"labels\":{{\"{WorkerLabel}\":\"{Id}\"}}}}}}", V1Patch.PatchType.MergePatch), full);
        return full;
    }

    /// <summary>Deletes a Node of this test now, as a cluster's operator or autoscaler removes a machine.</summary>
    public async Task DeleteNodeAsync(string name)
    {
        await Admin.CoreV1.DeleteNodeAsync(name);
        _nodes.Remove(name);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Server.IsRunning)
            {
                // Services have no deletecollection in 1.26.
                foreach (var service in (await Admin.CoreV1.ListNamespacedServiceAsync(Namespace)).Items)
                {
                    await DeleteAsync(() => Admin.CoreV1.DeleteNamespacedServiceAsync(service.Name(), Namespace));
                }

                foreach (var node in _nodes)
                {
                    // A test may have deleted some already; the others still go.
                    await DeleteAsync(() => Admin.CoreV1.DeleteNodeAsync(node));
                }
            }
        }
        finally
        {
            Admin.Dispose();
        }
    }

    private static async Task DeleteAsync(Func<Task> delete)
    {
        try
        {
            await delete();
        }
        catch (k8s.Autorest.HttpOperationException)
        {
            // Already gone; what is left cannot be served by another test's daemon (another class, another label).
        }
    }
}

using System.Net;
using k8s.Models;
using LoadBalancer.Host.Tests.Cluster;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// What kube-proxy on one Node answers: an echo backend on the Node's address at each NodePort the API server allocated
/// to a Service, prefixing answers with <paramref name="name"/> so that a test sees which Node a connection reached.
/// </summary>
internal sealed class NodePortBackends(string nodeIp, string name) : IAsyncDisposable
{
    private readonly List<EchoBackend> _backends = [];

    /// <summary>Listens on every NodePort of <paramref name="service"/> (as created or read back); returns it.</summary>
    public V1Service Serve(V1Service service)
    {
        foreach (var port in service.Spec.Ports)
        {
            _backends.Add(new EchoBackend(name, IPAddress.Parse(nodeIp), port.NodePort
                ?? throw new InvalidOperationException($"{service.Name()} port {port.Port} has no NodePort")));
        }

        return service;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }
}

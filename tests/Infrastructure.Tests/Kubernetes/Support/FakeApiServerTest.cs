using k8s;
using LoadBalancer.Tests.FakeKubernetesApi;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Support;

/// <summary>A test class with its own fake API server and a client of it, started before each test and stopped after.</summary>
public abstract class FakeApiServerTest : IAsyncLifetime
{
    protected FakeApiServer Server { get; private set; } = null!;

    protected IKubernetes Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await FakeApiServer.StartAsync();
        Client = Server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

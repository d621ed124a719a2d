namespace LoadBalancer.EndToEnd.Tests.Kubernetes;

/// <summary>
/// The one control plane of the test run, started by the first test that asks for it and stopped after the last.
/// Tests that skip (no <see cref="KubeAssets"/>) never start it.
/// </summary>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    // A start that failed is the answer for every test after it: each reports the same cause instead of retrying it.
    private readonly Lazy<Task<KubeApiServer>> _server = new(KubeApiServer.StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    internal Task<KubeApiServer> ServerAsync() => _server.Value;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server.IsValueCreated && _server.Value.IsCompletedSuccessfully)
        {
            await (await _server.Value).DisposeAsync();
        }
    }
}

/// <summary>
/// Every end-to-end test: one at a time (they start daemons, control planes and namespaces, and on a 2-core machine two
/// together stretch each other past their bounds), sharing one control plane.
/// </summary>
[CollectionDefinition(Name)]
public sealed class EndToEndTests : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "End to end";
}

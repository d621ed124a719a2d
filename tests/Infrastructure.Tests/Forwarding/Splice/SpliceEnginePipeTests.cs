using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Splice;

[Collection(TcpForwarderCollection.Name)]
public sealed class SpliceEnginePipeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task IdleConnections_HoldNoPipe()
    {
        var pipeFds = await IdleConnections.PipeFdsHeldAsync(ForwardingEngine.Splice, connections: 100, output);

        // Every connection has moved bytes both ways and is now idle. A pipe per direction would be 200 pipes
        // (400 fds); returned pipes are a few, kept in the loops' pools.
        Assert.InRange(pipeFds, 0, 2 * 2 * Environment.ProcessorCount * 2);
    }
}

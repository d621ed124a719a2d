using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.IoUring;

[Collection(TcpForwarderCollection.Name)]
public sealed class IoUringEngineIdleTests(ITestOutputHelper output)
{
    /// <summary>Small messages never leave the ring buffers, so idle connections hold no pipe (the splice engine keeps a few pooled).</summary>
    [Fact]
    public async Task IdleConnectionsAfterSmallMessages_HoldNoPipe()
    {
        var pipeFds = await IdleConnections.PipeFdsHeldAsync(ForwardingEngine.IoUring, connections: 100, output);

        Assert.Equal(0, pipeFds);
    }
}

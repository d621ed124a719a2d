using System.Net;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// Small writes are passed on at once: the forwarder's sockets on both sides have TCP_NODELAY (the client side through
/// the listening socket, which Linux copies it from). Read from the sockets themselves, which live in this process.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderNoDelayTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ClientAndBackendSockets_HaveNoDelay(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        using var client = await TestSockets.ConnectAsync(binding);
        await client.EchoAsync("small"u8.ToArray());

        var accepted = ProcessTcpSockets.Find(remote: (IPEndPoint)client.LocalEndPoint!, local: binding.ToIPEndPoint());
        var toBackend = ProcessTcpSockets.Find(remote: echo.Endpoint.ToIPEndPoint());

        var single = Assert.Single(accepted);
        Assert.True(ProcessTcpSockets.HasNoDelay(single), $"{engine}: the accepted client socket lacks TCP_NODELAY");
        var backendSocket = Assert.Single(toBackend);
        Assert.True(ProcessTcpSockets.HasNoDelay(backendSocket), $"{engine}: the backend socket lacks TCP_NODELAY");
    }
}

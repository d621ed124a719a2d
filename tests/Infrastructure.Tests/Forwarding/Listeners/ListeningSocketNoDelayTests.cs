using System.Net;
using System.Net.Sockets;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Listeners;

/// <summary>The engines no longer set TCP_NODELAY on each accepted socket: they rely on Linux copying it from the listener.</summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class ListeningSocketNoDelayTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AcceptedSocket_InheritsTheListenersNoDelay(bool listenerNoDelay)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = listenerNoDelay };
        listener.Bind(new IPEndPoint(LoopbackAddresses.NextListenerAddress(), 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Bounded.WithinAsync(ct => client.ConnectAsync(listener.LocalEndPoint!, ct).AsTask(), TestSockets.ShortWait, "connect");
        using var accepted = await Bounded.WithinAsync(listener.AcceptAsync(), TestSockets.ShortWait, "accept");

        // Read with getsockopt(2) on the fd, not through Socket.NoDelay, which a Socket may answer from what it set itself.
        Assert.Equal(listenerNoDelay, ProcessTcpSockets.HasNoDelay((int)accepted.SafeHandle.DangerousGetHandle()));
    }
}

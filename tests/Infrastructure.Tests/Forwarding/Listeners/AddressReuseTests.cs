using System.Net;
using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding.Listeners;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Listeners;

public sealed class AddressReuseTests
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const int SoReusePort = 15;

    [Fact]
    public void ASecondListener_OnTheSameIpAndPort_IsRefused_WhileTheFirstLives()
    {
        using var first = Listener();
        first.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.41"), 0));
        first.Listen();
        using var second = Listener();

        var refused = Assert.Throws<SocketException>(() => second.Bind(first.LocalEndPoint!));

        Assert.Equal(SocketError.AddressAlreadyInUse, refused.SocketErrorCode);
    }

    [Fact]
    public void SetsReuseAddress_ButNotReusePort()
    {
        using var socket = Listener();

        Assert.Equal(1, Option(socket, SoReuseAddr));
        Assert.Equal(0, Option(socket, SoReusePort));
    }

    private static Socket Listener()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        AddressReuse.Enable(socket);
        return socket;
    }

    private static int Option(Socket socket, int name)
    {
        var value = new byte[4];
        socket.GetRawSocketOption(SolSocket, name, value);
        return BitConverter.ToInt32(value);
    }
}

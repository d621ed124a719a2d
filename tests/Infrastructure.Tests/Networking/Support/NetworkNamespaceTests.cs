using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Infrastructure.Tests.Networking.Support;

public sealed class NetworkNamespaceTests
{
    private static readonly IPAddress InsideOnly = IPAddress.Parse("198.51.100.1");

    [RootFact]
    public void Run_SocketCreatedInside_BelongsToTheNamespace()
    {
        using var space = NetworkNamespace.Create();
        space.Exec("ip address add 198.51.100.1/32 dev lo");

        using var listener = space.Run(() =>
        {
            var inside = new TcpListener(InsideOnly, 0);
            inside.Start();
            return inside;
        });
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        using var client = space.Run(() =>
        {
            var connecting = new TcpClient(AddressFamily.InterNetwork);
            connecting.Connect(InsideOnly, port);
            return connecting;
        });
        using var accepted = listener.AcceptTcpClient();
        Assert.Equal(InsideOnly, ((IPEndPoint)accepted.Client.LocalEndPoint!).Address);

        // The host namespace does not have the address, so the same bind fails there.
        using var outside = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = Assert.Throws<SocketException>(() => outside.Bind(new IPEndPoint(InsideOnly, 0)));
        Assert.Equal(SocketError.AddressNotAvailable, refused.SocketErrorCode);
    }

    [RootFact]
    public void Run_ActionThrows_ExceptionReachesCaller()
    {
        using var space = NetworkNamespace.Create();

        var thrown = Assert.Throws<InvalidOperationException>(() => space.Run(() => throw new InvalidOperationException("inside")));

        Assert.Equal("inside", thrown.Message);
    }

    [RootFact]
    public void Exec_FailingCommand_ThrowsWithExitCodeAndError()
    {
        using var space = NetworkNamespace.Create();

        var thrown = Assert.Throws<InvalidOperationException>(() => space.Exec("echo broken >&2; exit 3"));

        Assert.Contains("exited with 3", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("broken", thrown.Message, StringComparison.Ordinal);
    }

    [RootFact]
    public void Dispose_RemovesTheNamespace_AndCanBeRepeated()
    {
        var space = NetworkNamespace.Create();
        var name = space.Name;
        Assert.Contains(name, ListNamespaces(), StringComparison.Ordinal);

        space.Dispose();
        space.Dispose();

        Assert.DoesNotContain(name, ListNamespaces(), StringComparison.Ordinal);
    }

    [RootFact]
    public void CreateVethPair_BothEnds_ReachEachOtherOverTcp()
    {
        var (left, right) = NetworkNamespace.CreateVethPair("llb-l", "llb-r", "192.0.2.1/24", "192.0.2.2/24");
        using (left)
        using (right)
        {
            var rightAddress = IPAddress.Parse("192.0.2.2");
            using var listener = right.Run(() =>
            {
                var inside = new TcpListener(rightAddress, 0);
                inside.Start();
                return inside;
            });
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;

            using var client = left.Run(() =>
            {
                var connecting = new TcpClient(AddressFamily.InterNetwork);
                connecting.Connect(rightAddress, port);
                return connecting;
            });
            using var accepted = listener.AcceptTcpClient();

            Assert.Equal(IPAddress.Parse("192.0.2.1"), ((IPEndPoint)accepted.Client.RemoteEndPoint!).Address);
            Assert.Contains("192.0.2.1/24", left.Exec("ip -o address show dev llb-l"), StringComparison.Ordinal);
        }
    }

    private static string ListNamespaces()
    {
        using var probe = NetworkNamespace.Create();
        return probe.Exec("ip netns list");
    }
}

using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Infrastructure.Forwarding.Filtering;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Filtering;

/// <summary>
/// The filter on real sockets of this kernel: UDP datagrams and TCP handshakes from outside the ranges never reach the
/// socket. Clients bind to 127.0.0.140 (allowed) or 127.0.0.141 (not) before they send; sockets listen on 127.0.122.x.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class SourceRangeFilterTests
{
    private static readonly IPAddress Allowed = IPAddress.Parse("127.0.0.140");
    private static readonly IPAddress Refused = IPAddress.Parse("127.0.0.141");
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task Udp_DatagramsFromOutsideTheRanges_AreNotReceived()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.Null(SourceRangeFilter.Attach(receiver, [IpCidr.Parse("127.0.0.140/32")]));
        receiver.Bind(new IPEndPoint(IPAddress.Parse("127.0.122.201"), 0));

        SendFrom(Refused, receiver.LocalEndPoint!, "from outside");
        SendFrom(Allowed, receiver.LocalEndPoint!, "from inside");

        var (text, from) = await ReceiveAsync(receiver, TimeSpan.FromSeconds(5));
        Assert.Equal("from inside", text);
        Assert.Equal(Allowed, from.Address);
        Assert.Null(await TryReceiveAsync(receiver, Quiet));
    }

    [Fact]
    public async Task Udp_ReplacedRanges_ApplyToTheNextDatagram_AndEmptyRangesLetEveryoneIn()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Parse("127.0.122.202"), 0));
        Assert.Null(SourceRangeFilter.Attach(receiver, [IpCidr.Parse("127.0.0.140/32")]));
        Assert.Null(SourceRangeFilter.Attach(receiver, [IpCidr.Parse("127.0.0.141/32")]));

        SendFrom(Allowed, receiver.LocalEndPoint!, "old range");
        SendFrom(Refused, receiver.LocalEndPoint!, "new range");
        Assert.Equal("new range", (await ReceiveAsync(receiver, TimeSpan.FromSeconds(5))).Text);
        Assert.Null(await TryReceiveAsync(receiver, Quiet));

        Assert.Null(SourceRangeFilter.Attach(receiver, []));
        SendFrom(Allowed, receiver.LocalEndPoint!, "anyone");
        Assert.Equal("anyone", (await ReceiveAsync(receiver, TimeSpan.FromSeconds(5))).Text);

        // Detaching twice is not an error.
        Assert.Null(SourceRangeFilter.Detach(receiver));
    }

    [Fact]
    public async Task Udp_Ipv6_RangeWithoutTheSource_DropsIt()
    {
        using var receiver = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = false };
        receiver.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.Null(SourceRangeFilter.Attach(receiver, [IpCidr.Parse("2001:db8::/32")]));

        SendFrom(IPAddress.IPv6Loopback, receiver.LocalEndPoint!, "not in 2001:db8::/32");
        Assert.Null(await TryReceiveAsync(receiver, Quiet));

        Assert.Null(SourceRangeFilter.Attach(receiver, [IpCidr.Parse("2001:db8::/32"), IpCidr.Parse("::1/128")]));
        SendFrom(IPAddress.IPv6Loopback, receiver.LocalEndPoint!, "::1");
        Assert.Equal("::1", (await ReceiveAsync(receiver, TimeSpan.FromSeconds(5))).Text);
    }

    [Fact]
    public async Task Udp_DualStackSocket_Ipv4DatagramsAreJudgedByTheIpv4Ranges()
    {
        using var receiver = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
        receiver.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        var port = ((IPEndPoint)receiver.LocalEndPoint!).Port;
        Assert.Null(SourceRangeFilter.Attach(receiver, [IpCidr.Parse("127.0.0.140/32")]));

        SendFrom(Refused, new IPEndPoint(IPAddress.Parse("127.0.122.203"), port), "v4 outside");
        SendFrom(IPAddress.IPv6Loopback, new IPEndPoint(IPAddress.IPv6Loopback, port), "v6 outside");
        SendFrom(Allowed, new IPEndPoint(IPAddress.Parse("127.0.122.203"), port), "v4 inside");

        var (text, from) = await ReceiveAsync(receiver, TimeSpan.FromSeconds(5));
        Assert.Equal("v4 inside", text);
        Assert.Equal(Allowed, from.Address.MapToIPv4());
        Assert.Null(await TryReceiveAsync(receiver, Quiet));
    }

    [Fact]
    public async Task TcpListener_AClientFromOutside_NeverCompletesTheHandshake()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.Null(SourceRangeFilter.Attach(listener, [IpCidr.Parse("127.0.0.140/32")]));
        listener.Bind(new IPEndPoint(IPAddress.Parse("127.0.122.204"), 0));
        listener.Listen(16);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;

        Assert.Equal(SocketError.TimedOut, await TryConnectFromAsync(Refused, endPoint, TimeSpan.FromSeconds(1.5)));
        Assert.Null(await TryConnectFromAsync(Allowed, endPoint, TimeSpan.FromSeconds(5)));

        // Only the allowed client is in the accept queue.
        using var accepted = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Allowed, ((IPEndPoint)accepted.RemoteEndPoint!).Address);
        listener.Blocking = false;
        Assert.Equal(SocketError.WouldBlock, Assert.Throws<SocketException>(() => listener.Accept()).SocketErrorCode);
    }

    internal static async Task<SocketError?> TryConnectFromAsync(IPAddress source, IPEndPoint endPoint, TimeSpan limit)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await socket.ConnectAsync(endPoint, deadline.Token);
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
        catch (OperationCanceledException)
        {
            return SocketError.TimedOut;
        }
    }

    private static void SendFrom(IPAddress source, EndPoint to, string text)
    {
        using var sender = new Socket(source.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(source, 0));
        sender.SendTo(System.Text.Encoding.UTF8.GetBytes(text), to);
    }

    private static async Task<(string Text, IPEndPoint From)> ReceiveAsync(Socket receiver, TimeSpan limit) =>
        await TryReceiveAsync(receiver, limit) ?? throw new Xunit.Sdk.XunitException($"no datagram within {limit.TotalMilliseconds:F0} ms");

    private static async Task<(string Text, IPEndPoint From)?> TryReceiveAsync(Socket receiver, TimeSpan limit)
    {
        var buffer = new byte[256];
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            EndPoint any = receiver.AddressFamily == AddressFamily.InterNetwork ? new IPEndPoint(IPAddress.Any, 0) : new IPEndPoint(IPAddress.IPv6Any, 0);
            var received = await receiver.ReceiveFromAsync(buffer, SocketFlags.None, any, deadline.Token);
            return (System.Text.Encoding.UTF8.GetString(buffer, 0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}

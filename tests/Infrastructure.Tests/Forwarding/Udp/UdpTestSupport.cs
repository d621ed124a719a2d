using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Udp;

/// <summary>
/// A UDP backend on 127.0.0.120–125: it answers each datagram with a prefix naming itself and the datagram unchanged,
/// or, with <see cref="Echo"/>, with the datagram alone.
/// </summary>
internal sealed class UdpBackend : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private long _received;

    private UdpBackend(IPAddress address, bool prefix)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20, SendBufferSize = 4 << 20 };
        _socket.Bind(new IPEndPoint(address, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        Prefix = prefix ? Encoding.ASCII.GetBytes($"hello from {EndPoint}: ") : [];
        _serving = Task.Run(ServeAsync);
    }

    public IPEndPoint EndPoint { get; }

    public Endpoint Endpoint => new(EndPoint.Address, EndPoint.Port);

    public byte[] Prefix { get; }

    public long Received => Interlocked.Read(ref _received);

    /// <param name="host">The last octet: 120–125.</param>
    public static UdpBackend Named(int host) => new(new IPAddress([127, 0, 0, (byte)host]), prefix: true);

    public static UdpBackend Echo(int host) => new(new IPAddress([127, 0, 0, (byte)host]), prefix: false);

    private async Task ServeAsync()
    {
        var buffer = new byte[65536];
        var reply = new byte[65536 + 64];
        Prefix.CopyTo(reply, 0);
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _received);
            buffer.AsSpan(0, received.ReceivedBytes).CopyTo(reply.AsSpan(Prefix.Length));
            try
            {
                await _socket.SendToAsync(reply.AsMemory(0, Prefix.Length + received.ReceivedBytes), SocketFlags.None, received.RemoteEndPoint);
            }
            catch (SocketException)
            {
                // A client gone is no fault of the backend.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _serving;
        _stop.Dispose();
    }
}

internal static class UdpTests
{
    private static int s_nextListener;

    /// <summary>A fresh 127.0.120.x address and a UDP port free on it.</summary>
    public static PortBinding NextBinding()
    {
        var n = Interlocked.Increment(ref s_nextListener);
        var ip = new IPAddress([127, 0, 120, (byte)(1 + ((n - 1) % 250))]);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(ip, 0));
        return new PortBinding(ip, ServicePort.Udp(((IPEndPoint)socket.LocalEndPoint!).Port));
    }

    /// <summary>An address on 127.0.0.<paramref name="host"/> with a UDP port nothing listens on: the kernel answers ICMP port unreachable.</summary>
    public static Endpoint ClosedPort(int host)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(new IPAddress([127, 0, 0, (byte)host]), 0));
        var endPoint = (IPEndPoint)socket.LocalEndPoint!;
        return new Endpoint(endPoint.Address, endPoint.Port);
    }

    public static ListenerSpec Spec(PortBinding binding, IEnumerable<Endpoint> backends, string policy = LoadBalancingPolicyNames.RoundRobin) =>
        TestForwarders.Spec(binding, backends, policy);

    public static TcpForwarder Create(ITestOutputHelper output, Func<ForwarderOptions, ForwarderOptions>? configure = null, TimeProvider? time = null) =>
        TestForwarders.Create(ForwardingEngine.Copy, output, configure, time);

    public static async Task<PortBinding> ListenUdpAsync(this TcpForwarder forwarder, params Endpoint[] backends)
    {
        var binding = NextBinding();
        await forwarder.ApplySucceedsAsync(Spec(binding, backends));
        return binding;
    }

    /// <param name="address">The client's source address: 127.0.0.1 unless a test needs another.</param>
    public static Socket Client(IPAddress? address = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address ?? IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>Sends <paramref name="text"/> and waits for one reply; null when none came within <paramref name="wait"/>. The reply's source is checked against <paramref name="binding"/>.</summary>
    public static async Task<string?> AskAsync(this Socket client, PortBinding binding, string text, TimeSpan wait)
    {
        var target = new IPEndPoint(binding.Ip, binding.Port.Port);
        await client.SendToAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, target);
        var buffer = new byte[2048];
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            var received = await client.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
            Assert.Equal(target, received.RemoteEndPoint);
            return Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}

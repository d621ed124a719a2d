using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Demo;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// The PROXY protocol header toward backends, through both engines, read by a real backend on loopback: it names the
/// real client and the listener, comes before the client's first byte, and is absent when the listener asks for none.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderProxyProtocolTests(ITestOutputHelper output)
{
    private static readonly IPAddress BackendIp = IPAddress.Parse("127.0.0.126");
    private static int s_nextListener;

    public static TheoryData<ForwardingEngine, ProxyProtocolVersion> EnginesAndVersions => new()
    {
        { ForwardingEngine.IoUring, ProxyProtocolVersion.V1 },
        { ForwardingEngine.IoUring, ProxyProtocolVersion.V2 },
        { ForwardingEngine.Splice, ProxyProtocolVersion.V1 },
        { ForwardingEngine.Splice, ProxyProtocolVersion.V2 },
        { ForwardingEngine.Copy, ProxyProtocolVersion.V1 },
        { ForwardingEngine.Copy, ProxyProtocolVersion.V2 },
    };

    [Theory]
    [MemberData(nameof(EnginesAndVersions))]
    public async Task HeaderOn_BackendReadsTheClientAndTheListener_ThenEveryByteBothWays(ForwardingEngine engine, ProxyProtocolVersion version)
    {
        const long Size = 8L * 1024 * 1024;
        var limit = TimeSpan.FromSeconds(30);
        var backendDone = new TaskCompletionSource<(ProxyHeaderInfo Header, StreamDigest Received, StreamDigest Sent)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = ProxiedBackend.Start(BackendIp, async (socket, cancellationToken) =>
        {
            try
            {
                var header = await ReadHeaderAsync(socket, cancellationToken);
                var receiving = socket.ReceiveDigestAsync(cancellationToken);
                var sent = await socket.SendSeededAsync(Size / 2, seed: 0x9E11, cancellationToken);
                socket.Shutdown(SocketShutdown.Send);
                backendDone.TrySetResult((header, await receiving, sent));
            }
            catch (Exception e)
            {
                backendDone.TrySetException(e);
                throw;
            }
        });
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await ListenAsync(forwarder, backend, version);

        using var client = await TestSockets.ConnectAsync(binding);
        var (clientSent, clientReceived) = await Bounded.WithinAsync(
            async cancellationToken =>
            {
                var receiving = client.ReceiveDigestAsync(cancellationToken);
                var sent = await client.SendSeededAsync(Size, seed: 0xC1, cancellationToken);
                client.Shutdown(SocketShutdown.Send);
                return (sent, await receiving);
            },
            limit,
            "the client to send 8 MiB and receive 4 MiB and EOF");
        var (header, backendReceived, backendSent) = await Bounded.WithinAsync(backendDone.Task, limit, "the backend to read the header and both directions");
        output.WriteLine($"{engine} {version}: {header}");

        Assert.Equal(version, header.Version);
        Assert.Equal(client.LocalEndPoint, header.Source);
        Assert.Equal(binding.ToIPEndPoint(), header.Destination);
        Assert.Equal(clientSent, backendReceived);
        Assert.Equal(backendSent, clientReceived);
    }

    [Theory]
    [MemberData(nameof(EnginesAndVersions))]
    public async Task HeaderOn_ClientSendsNothing_BackendThatSpeaksFirstAfterTheHeaderIsHeard(ForwardingEngine engine, ProxyProtocolVersion version)
    {
        await using var backend = ProxiedBackend.Start(BackendIp, async (socket, cancellationToken) =>
        {
            var header = await ReadHeaderAsync(socket, cancellationToken);
            await socket.SendAllAsync(Encoding.ASCII.GetBytes($"220 hello {header.Source}\r\n"), cancellationToken);
            await socket.WaitForCloseAsync(TimeSpan.FromSeconds(10), "the backend waiting for the client to leave");
        });
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await ListenAsync(forwarder, backend, version);

        using var client = await TestSockets.ConnectAsync(binding);
        var expected = Encoding.ASCII.GetBytes($"220 hello {client.LocalEndPoint}\r\n");
        var greeting = new byte[expected.Length];
        await Bounded.WithinAsync(cancellationToken => client.ReceiveExactlyAsync(greeting, cancellationToken), TestSockets.ShortWait,
            "the backend's greeting, sent once it has read the header, with no byte from the client");

        Assert.Equal(Encoding.ASCII.GetString(expected), Encoding.ASCII.GetString(greeting));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task HeaderOff_BackendGetsTheClientsBytesFirst(ForwardingEngine engine)
    {
        var first = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = ProxiedBackend.Start(BackendIp, async (socket, cancellationToken) =>
        {
            var (received, _) = await socket.ReadToCloseAsync(TimeSpan.FromSeconds(10), "the backend reading the client");
            first.TrySetResult(received);
        });
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await ListenAsync(forwarder, backend, ProxyProtocolVersion.None);

        using (var client = await TestSockets.ConnectAsync(binding))
        {
            await Bounded.WithinAsync(cancellationToken => client.SendAllAsync("hello"u8.ToArray(), cancellationToken), TestSockets.ShortWait, "hello");
            client.Shutdown(SocketShutdown.Send);
            await client.ReadToCloseAsync(TimeSpan.FromSeconds(10), "the client waiting for the backend to close");
        }

        Assert.Equal("hello", Encoding.ASCII.GetString(await Bounded.WithinAsync(first.Task, TestSockets.ShortWait, "the backend's read")));
    }

    [Theory]
    [MemberData(nameof(EnginesAndVersions))]
    public async Task HeaderOn_IPv6_IsTcp6WithTheIPv6ClientAndListener(ForwardingEngine engine, ProxyProtocolVersion version)
    {
        var seen = new TaskCompletionSource<(ProxyHeaderInfo Header, byte[] Bytes)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = ProxiedBackend.Start(IPAddress.IPv6Loopback, async (socket, cancellationToken) =>
        {
            var header = await ReadHeaderAsync(socket, cancellationToken);
            var (rest, _) = await socket.ReadToCloseAsync(TimeSpan.FromSeconds(10), "the backend reading the client");
            seen.TrySetResult((header, rest));
        });
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = new PortBinding(IPAddress.IPv6Loopback, ServicePort.Tcp(FreePort(IPAddress.IPv6Loopback)));
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [backend.Endpoint]) with { ProxyProtocol = version });

        IPEndPoint clientEnd;
        using (var client = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(binding.ToIPEndPoint());
            clientEnd = (IPEndPoint)client.LocalEndPoint!;
            await Bounded.WithinAsync(cancellationToken => client.SendAllAsync("after"u8.ToArray(), cancellationToken), TestSockets.ShortWait, "after");
            client.Shutdown(SocketShutdown.Send);
            await client.ReadToCloseAsync(TimeSpan.FromSeconds(10), "the client waiting for the backend to close");
        }

        var (header, rest) = await Bounded.WithinAsync(seen.Task, TestSockets.ShortWait, "the backend to read the header and the bytes");
        Assert.Equal(clientEnd, header.Source);
        Assert.Equal(binding.ToIPEndPoint(), header.Destination);
        Assert.Equal("after", Encoding.ASCII.GetString(rest));
    }

    private static async Task<ProxyHeaderInfo> ReadHeaderAsync(Socket socket, CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var (header, error) = await ProxyHeaderReader.ReadAsync(stream, cancellationToken);
        return header ?? throw new InvalidOperationException($"the backend got no valid PROXY protocol header: {error}");
    }

    /// <summary>A listener on 127.0.121.x (this feature's range), in front of <paramref name="backend"/>.</summary>
    private static async Task<PortBinding> ListenAsync(TcpForwarder forwarder, ProxiedBackend backend, ProxyProtocolVersion version)
    {
        var n = Interlocked.Increment(ref s_nextListener);
        var ip = new IPAddress([127, 0, 121, (byte)(1 + ((n - 1) % 250))]);
        var binding = new PortBinding(ip, ServicePort.Tcp(LoopbackAddresses.FreePort(ip)));
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [backend.Endpoint]) with { ProxyProtocol = version });
        return binding;
    }

    private static int FreePort(IPAddress ip)
    {
        using var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(ip, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>A backend on its own address (127.0.0.126 or ::1) that runs a handler per connection, and closes all of them on dispose.</summary>
    private sealed class ProxiedBackend : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly CancellationTokenSource _stopping = new();
        private readonly List<Task> _handlers = [];
        private readonly Task _accepting;

        private ProxiedBackend(IPAddress ip, Func<Socket, CancellationToken, Task> handler)
        {
            _listener = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(ip, 0));
            _listener.Listen(64);
            var end = (IPEndPoint)_listener.LocalEndPoint!;
            Endpoint = new Endpoint(end.Address, end.Port);
            _accepting = AcceptAsync(handler);
        }

        public Endpoint Endpoint { get; }

        public static ProxiedBackend Start(IPAddress ip, Func<Socket, CancellationToken, Task> handler) => new(ip, handler);

        public async ValueTask DisposeAsync()
        {
            await _stopping.CancelAsync();
            _listener.Dispose();
            try
            {
                await Task.WhenAll([_accepting, .. _handlers]).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception)
            {
                // A handler's failure shows as the test's own (what it waited for never came); here only that they stopped.
            }

            _stopping.Dispose();
        }

        private async Task AcceptAsync(Func<Socket, CancellationToken, Task> handler)
        {
            while (!_stopping.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptAsync(_stopping.Token);
                }
                catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _handlers.Add(RunAsync(socket, handler));
            }
        }

        private async Task RunAsync(Socket socket, Func<Socket, CancellationToken, Task> handler)
        {
            using (socket)
            {
                await handler(socket, _stopping.Token);
            }
        }
    }
}

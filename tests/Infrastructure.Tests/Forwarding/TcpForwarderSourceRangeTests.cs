using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.Copy;
using LoadBalancer.Infrastructure.Forwarding.Filtering;
using LoadBalancer.Infrastructure.Forwarding.IoUring;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Tests.Forwarding.Filtering;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// A Service's loadBalancerSourceRanges on the forwarder: clients bind to 127.0.0.140 or 127.0.0.141 before they connect
/// to a listener on 127.0.122.x, so the filter sees two different sources on loopback.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderSourceRangeTests(ITestOutputHelper output)
{
    private static readonly IPAddress Allowed = IPAddress.Parse("127.0.0.140");
    private static readonly IPAddress Other = IPAddress.Parse("127.0.0.141");
    private static readonly TimeSpan DroppedWait = TimeSpan.FromSeconds(1.5);
    private static int s_nextListener;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task AllowedSource_IsServed_AnotherSource_NeverReachesTheBackend(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = NextBinding();
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [echo.Endpoint]) with { SourceRanges = [IpCidr.Parse("127.0.0.140/32")] });

        using (var client = await ConnectFromAsync(Allowed, binding))
        {
            await client.EchoAsync("inside"u8.ToArray());
        }

        Assert.Equal(SocketError.TimedOut, await SourceRangeFilterTests.TryConnectFromAsync(Other, binding.ToIPEndPoint(), DroppedWait));

        Assert.Equal(1, echo.Accepted);
        var listener = forwarder.Statistics(binding).Listener;
        Assert.Equal(1, listener.ConnectionsOpened);
        Assert.Equal(0, listener.ConnectionsFailed);

        // The kernel dropped the SYNs: nothing reached accept, so nothing is counted as refused there.
        Assert.Equal(0, listener.RefusedBySourceRange);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task RangesChangedOnARunningListener_ApplyToNewClients_AnOpenConnectionStays(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = NextBinding();
        var spec = TestForwarders.Spec(binding, [echo.Endpoint]);
        await forwarder.ApplySucceedsAsync(spec with { SourceRanges = [IpCidr.Parse("127.0.0.140/32")] });
        using var open = await ConnectFromAsync(Allowed, binding);
        await open.EchoAsync("before"u8.ToArray());

        await forwarder.ApplySucceedsAsync(spec with { SourceRanges = [IpCidr.Parse("127.0.0.141/32")] });

        await open.EchoAsync("after the change"u8.ToArray());
        using (var newcomer = await ConnectFromAsync(Other, binding))
        {
            await newcomer.EchoAsync("now inside"u8.ToArray());
        }

        Assert.Equal(SocketError.TimedOut, await SourceRangeFilterTests.TryConnectFromAsync(Allowed, binding.ToIPEndPoint(), DroppedWait));
        Assert.Equal(2, echo.Accepted);

        // No ranges: everyone again.
        await forwarder.ApplySucceedsAsync(spec);
        using (var again = await ConnectFromAsync(Allowed, binding))
        {
            await again.EchoAsync("anyone"u8.ToArray());
        }

        await open.EchoAsync("still open"u8.ToArray());
        Assert.Equal(3, echo.Accepted);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Ipv6Listener_OnLoopback_FilteredByItsIpv6Ranges(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = new PortBinding(IPAddress.IPv6Loopback, ServicePort.Tcp(FreeIpv6Port()));
        var spec = TestForwarders.Spec(binding, [echo.Endpoint]);
        await forwarder.ApplySucceedsAsync(spec with { SourceRanges = [IpCidr.Parse("10.0.0.0/8"), IpCidr.Parse("2001:db8::/32")] });

        Assert.Equal(SocketError.TimedOut, await SourceRangeFilterTests.TryConnectFromAsync(IPAddress.IPv6Loopback, binding.ToIPEndPoint(), DroppedWait));
        Assert.Equal(0, echo.Accepted);

        await forwarder.ApplySucceedsAsync(spec with { SourceRanges = [IpCidr.Parse("2001:db8::/32"), IpCidr.Parse("::1/128")] });
        using var client = await ConnectFromAsync(IPAddress.IPv6Loopback, binding);
        await client.EchoAsync("::1"u8.ToArray());
        Assert.Equal(1, echo.Accepted);
    }

    /// <summary>
    /// Where the kernel filter is missing (it was refused, or the client's handshake finished before it was narrowed),
    /// the engine's own check closes the client at accept, before any backend connect, and counts it. The engine runs
    /// here on a listening socket without a filter, so every client reaches accept.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task WithoutTheKernelFilter_TheEngineRefusesAtAccept_BeforeAnyConnect_AndCounts(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        var options = new ForwarderOptions { Engine = engine };
        await using IForwardingEngine forwardingEngine = engine switch
        {
            ForwardingEngine.IoUring => new IoUringEngine(options, TimeProvider.System, NullLogger.Instance),
            ForwardingEngine.Splice => new SpliceEngine(options, TimeProvider.System, NullLogger.Instance),
            _ => new CopyEngine(options, TimeProvider.System, NullLogger.Instance),
        };
        var binding = NextBinding();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(binding.ToIPEndPoint());
        socket.Listen(16);
        var backend = new BackendState(echo.Endpoint, new BackendHealth(HealthCheckSettingsOff, options, TimeProvider.System));
        var route = new ListenerRoute(new BackendSnapshot([backend]), new RoundRobinPolicy(), null)
        {
            SourceRanges = SourceRangeSet.For([IpCidr.Parse("127.0.0.140/32")]),
        };
        var context = new ListenerContext(binding, $"{binding} (default/web)", route, options, TimeProvider.System, NullLogger.Instance);
        var runtime = forwardingEngine.Start(socket, context);
        try
        {
            var closed = await ConnectFromAndWaitForCloseAsync(Other, binding);
            Assert.True(closed.Kind == CloseKind.Reset, $"the client from outside should be reset; it saw {closed}");
            await Bounded.UntilAsync(() => context.Counters.Snapshot().RefusedBySourceRange == 1, TimeSpan.FromSeconds(5), "the refusal counted");

            using (var client = await ConnectFromAsync(Allowed, binding))
            {
                await client.EchoAsync("inside"u8.ToArray());
            }

            Assert.Equal(1, echo.Accepted);
            var counters = context.Counters.Snapshot();
            Assert.Equal(1, counters.ConnectionsOpened);
            Assert.Equal(0, counters.ConnectionsFailed);
            Assert.Equal(1, counters.RefusedBySourceRange);
        }
        finally
        {
            await runtime.StopAcceptingAsync();
            await runtime.CloseConnectionsAsync();
        }
    }

    private static Application.Forwarding.HealthCheckSettings HealthCheckSettingsOff =>
        Application.Forwarding.HealthCheckSettings.Default with { Enabled = false };

    /// <summary>A listener address of its own in 127.0.122.0/24 and a port free on it.</summary>
    private static PortBinding NextBinding()
    {
        var n = Interlocked.Increment(ref s_nextListener);
        var ip = new IPAddress([127, 0, 122, (byte)(1 + ((n - 1) % 100))]);
        return new PortBinding(ip, ServicePort.Tcp(LoopbackAddresses.FreePort(ip)));
    }

    private static int FreeIpv6Port()
    {
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static async Task<Socket> ConnectFromAsync(IPAddress source, PortBinding binding)
    {
        var socket = new Socket(source.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            using var deadline = Bounded.Deadline(TestSockets.ShortWait);
            await socket.ConnectAsync(binding.ToIPEndPoint(), deadline.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<Closed> ConnectFromAndWaitForCloseAsync(IPAddress source, PortBinding binding)
    {
        Socket socket;
        try
        {
            socket = await ConnectFromAsync(source, binding);
        }
        catch (SocketException reset) when (reset.SocketErrorCode == SocketError.ConnectionReset)
        {
            return new Closed(CloseKind.Reset, SocketError.ConnectionReset, 0, TimeSpan.Zero);
        }

        using (socket)
        {
            return await socket.WaitForCloseAsync(TimeSpan.FromSeconds(5), $"client from {source}");
        }
    }
}

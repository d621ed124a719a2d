using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// <c>sessionAffinity: ClientIP</c> on a running listener with round-robin underneath: clients bound to different
/// loopback addresses (127.0.0.150 to .153) each keep one backend over many connections, where without the affinity
/// every client walks all of them, and a client moves when its backend is not ready or removed, and stays moved.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderAffinityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Affinity = TimeSpan.FromSeconds(10_800);
    private static int s_nextListener;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ClientIpAffinity_EachClientKeepsItsBackendOverManyConnections_AndRoundRobinSpreadsTheClients(ForwardingEngine engine)
    {
        await using var backends = await NamedBackends.StartAsync(3);
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = NextBinding();
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, Affinity));

        // Interleaved, so round-robin turns between the connections of one client; four clients on three backends, so
        // that without affinity no client would meet the same backend twice in a row.
        var answers = await ConnectInTurnsAsync(binding, clients: 4, rounds: 5);

        Assert.All(answers, client => Assert.Single(client.Value.Distinct()));
        var firstBackends = answers.Values.Select(client => client[0]).ToList();
        Assert.Equal(["a", "b", "c"], firstBackends.Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task WithoutAffinity_TheSameClientsWalkEveryBackend(ForwardingEngine engine)
    {
        // The control for the test above: the same clients and connections, no AffinityTimeout.
        await using var backends = await NamedBackends.StartAsync(3);
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = NextBinding();
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, affinity: null));

        var answers = await ConnectInTurnsAsync(binding, clients: 4, rounds: 5);

        Assert.All(answers, client => Assert.True(client.Value.Distinct().Count() > 1, $"client {client.Key} only reached {client.Value[0]}"));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ClientIpAffinity_BackendNotReady_ItsClientsMoveAndStayMovedWhenItIsReadyAgain(ForwardingEngine engine)
    {
        await using var backends = await NamedBackends.StartAsync(3);
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = NextBinding();
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, Affinity));
        var before = await ConnectInTurnsAsync(binding, clients: 4, rounds: 2);
        var (moving, left) = (before.First(client => client.Value[0] == "a").Key, "a");

        Endpoint[] aNotReady = [.. backends.Endpoints.Select(endpoint => endpoint == backends.Endpoints[0] ? new Endpoint(endpoint.Address, endpoint.Port, ready: false) : endpoint)];
        await forwarder.ApplySucceedsAsync(Spec(binding, aNotReady, Affinity));
        var during = await ConnectInTurnsAsync(binding, clients: 4, rounds: 3);
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, Affinity));
        var after = await ConnectInTurnsAsync(binding, clients: 4, rounds: 3);

        var movedTo = Assert.Single(during[moving].Distinct());
        Assert.NotEqual(left, movedTo);
        Assert.Equal([movedTo], after[moving].Distinct());

        // The clients of the other backends did not move at all.
        foreach (var (client, answers) in before.Where(client => client.Value[0] != left))
        {
            Assert.Equal([answers[0]], during[client].Concat(after[client]).Distinct());
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ClientIpAffinity_BackendRemoved_ItsClientsMove_OthersKeepTheirsAcrossTheUpdate(ForwardingEngine engine)
    {
        await using var backends = await NamedBackends.StartAsync(4);
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = NextBinding();
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints.Take(3), Affinity));
        var before = await ConnectInTurnsAsync(binding, clients: 4, rounds: 2);

        // b leaves and d joins in one update.
        await forwarder.ApplySucceedsAsync(Spec(binding, [backends.Endpoints[0], backends.Endpoints[2], backends.Endpoints[3]], Affinity));
        var after = await ConnectInTurnsAsync(binding, clients: 4, rounds: 4);

        foreach (var (client, answers) in before)
        {
            var now = Assert.Single(after[client].Distinct());
            if (answers[0] == "b")
            {
                Assert.NotEqual("b", now);
            }
            else
            {
                Assert.Equal(answers[0], now);
            }
        }

        Assert.Contains(before.Values, answers => answers[0] == "b");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ClientIpAffinity_HealthCheckSettingsChanged_ClientsKeepTheirBackends(ForwardingEngine engine)
    {
        // New health-check settings give every backend a new state (fresh counters and health); the table follows
        // them by address instead of placing every client again.
        await using var backends = await NamedBackends.StartAsync(3);
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = NextBinding();
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, Affinity));
        var before = await ConnectInTurnsAsync(binding, clients: 4, rounds: 1);

        var spec = Spec(binding, backends.Endpoints, Affinity);
        await forwarder.ApplySucceedsAsync(spec with { HealthCheck = spec.HealthCheck with { Interval = spec.HealthCheck.Interval * 2 } });
        // In reverse order: a client placed again by the listener's new round-robin would land elsewhere (.152 on a, not c).
        var after = await ConnectInTurnsAsync(binding, clients: 4, rounds: 3, reverse: true);

        Assert.All(before, client => Assert.Equal([client.Value[0]], after[client.Key].Distinct()));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ClientIpAffinity_BackendRefusesConnections_ItsClientsAreRetriedElsewhereAndStayThere(ForwardingEngine engine)
    {
        await using var backends = await NamedBackends.StartAsync(3);
        await using var forwarder = TestForwarders.Create(engine, output, options => options with { PassiveEjectionThreshold = 0 });
        var binding = NextBinding();
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, Affinity));
        var before = await ConnectInTurnsAsync(binding, clients: 4, rounds: 1);

        // Nothing listens on a's port any more; with passive ejection off it stays available, so only the retry moves its clients.
        await backends.StopAsync(0);
        var after = await ConnectInTurnsAsync(binding, clients: 4, rounds: 3);

        foreach (var (client, answers) in before)
        {
            var now = Assert.Single(after[client].Distinct());
            Assert.Equal(answers[0] == "a", now != answers[0]);
        }

        // One refused connect per client of a, on its first connection after the stop; none after it moved.
        var refused = forwarder.Statistics(binding).Of(backends.Endpoints[0]).ConnectionsFailed;
        Assert.Equal(before.Values.Count(answers => answers[0] == "a"), refused);
    }

    [Fact]
    public async Task ClientIpAffinity_TurnedOnChangedAndOff_IsLoggedOnceEach_AndSurvivesOtherUpdatesSilently()
    {
        await using var backends = await NamedBackends.StartAsync(2);
        var logs = new RecordingLoggerFactory(output);
        await using var forwarder = TestForwarders.Create(ForwardingEngine.Copy, output, loggerFactory: logs);
        var binding = NextBinding();

        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, Affinity));
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints.Take(1), Affinity));
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, TimeSpan.FromMinutes(5)));
        await forwarder.ApplySucceedsAsync(Spec(binding, backends.Endpoints, affinity: null));

        var on = Assert.Single(logs.WithId(2490));
        Assert.Equal(
            $"Listener {binding} (default/web) keeps each client IP on its backend while it is available, until 03:00:00 after the client's last new connection (sessionAffinity ClientIP; first connections placed by round-robin; at most 65536 clients remembered)",
            on.Message);
        Assert.Equal($"Listener {binding} (default/web) now keeps clients on their backends until 00:05:00 after their last new connection", Assert.Single(logs.WithId(2492)).Message);
        Assert.Single(logs.WithId(2491));
    }

    [Fact]
    public async Task ApplyAsync_AffinityTimeoutNotPositive_IsRefusedWithTheValue()
    {
        await using var forwarder = TestForwarders.Create(ForwardingEngine.Copy, output);
        var binding = NextBinding();

        var result = await forwarder.ApplyWithinLimitAsync(Spec(binding, [], TimeSpan.Zero));

        Assert.False(result.Succeeded);
        Assert.Equal("affinity timeout: 00:00:00 must be positive", result.Error);
        Assert.Empty(forwarder.Listeners);
    }

    private static ListenerSpec Spec(PortBinding binding, IEnumerable<Endpoint> backends, TimeSpan? affinity) =>
        TestForwarders.Spec(binding, backends) with { AffinityTimeout = affinity };

    private static PortBinding NextBinding()
    {
        var n = Interlocked.Increment(ref s_nextListener);
        var ip = new IPAddress([127, 0, 123, (byte)(1 + ((n - 1) % 250))]);
        return new PortBinding(ip, ServicePort.Tcp(LoopbackAddresses.FreePort(ip)));
    }

    /// <summary>
    /// Each of <paramref name="clients"/> source addresses (127.0.0.150 on) connects once per round, in turn; the
    /// names of the backends each one reached, in order. <paramref name="reverse"/>: the last address connects first.
    /// </summary>
    private static async Task<Dictionary<IPAddress, List<string>>> ConnectInTurnsAsync(PortBinding binding, int clients, int rounds, bool reverse = false)
    {
        var answers = Enumerable.Range(0, clients).ToDictionary(index => new IPAddress([127, 0, 0, (byte)(150 + index)]), _ => new List<string>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (source, reached) in reverse ? answers.Reverse() : answers)
            {
                reached.Add(await AskAsync(source, binding));
            }
        }

        return answers;
    }

    /// <summary>Connects from <paramref name="source"/> and reads the backend's name up to its close.</summary>
    private static async Task<string> AskAsync(IPAddress source, PortBinding binding)
    {
        using var client = TestSockets.NewTcp();
        client.Bind(new IPEndPoint(source, 0));
        using var deadline = Bounded.Deadline(TestSockets.ShortWait);
        await client.ConnectAsync(binding.ToIPEndPoint(), deadline.Token);
        var (data, closed) = await client.ReadToCloseAsync(TestSockets.ShortWait, $"answer of a backend to {source}");
        Assert.True(closed.Kind == CloseKind.Eof, $"connection from {source} ended with {closed}");
        return Encoding.ASCII.GetString(data);
    }

    /// <summary>Backends on 127.0.0.136, .137, ... named a, b, ...: each sends its name on every connection and closes.</summary>
    private sealed class NamedBackends : IAsyncDisposable
    {
        private readonly List<Socket> _listeners;
        private readonly List<Task> _loops;
        private readonly CancellationTokenSource _stopping = new();

        private NamedBackends(List<Socket> listeners)
        {
            _listeners = listeners;
            Endpoints = [.. listeners.Select(listener => (IPEndPoint)listener.LocalEndPoint!).Select(endPoint => new Endpoint(endPoint.Address, endPoint.Port))];
            _loops = [.. listeners.Select((listener, index) => ServeAsync(listener, ((char)('a' + index)).ToString()))];
        }

        public Endpoint[] Endpoints { get; }

        public static Task<NamedBackends> StartAsync(int count)
        {
            var listeners = new List<Socket>();
            for (var index = 0; index < count; index++)
            {
                var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(new IPAddress([127, 0, 0, (byte)(136 + index)]), 0));
                listener.Listen(128);
                listeners.Add(listener);
            }

            return Task.FromResult(new NamedBackends(listeners));
        }

        /// <summary>Closes one backend's listening socket: connects to it are refused from now on.</summary>
        public async Task StopAsync(int index)
        {
            _listeners[index].Dispose();
            await Bounded.WithinAsync(_loops[index], TestSockets.ShortWait, $"accept loop of backend {index} to end");
        }

        public async ValueTask DisposeAsync()
        {
            await _stopping.CancelAsync();
            foreach (var listener in _listeners)
            {
                listener.Dispose();
            }

            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5));
            _stopping.Dispose();
        }

        private async Task ServeAsync(Socket listener, string name)
        {
            var answer = Encoding.ASCII.GetBytes(name);
            while (true)
            {
                Socket connection;
                try
                {
                    connection = await listener.AcceptAsync(_stopping.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }

                using (connection)
                {
                    try
                    {
                        await connection.SendAllAsync(answer, _stopping.Token);
                        connection.Shutdown(SocketShutdown.Both);
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException)
                    {
                        // The forwarder or the test went away first.
                    }
                }
            }
        }
    }
}

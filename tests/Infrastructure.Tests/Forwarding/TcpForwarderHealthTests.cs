using System.Net.Sockets;
using System.Text;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// Active health checks steering a running listener: the backends here accept every connection, so only the HTTP
/// check (503 on /healthz) can keep clients away from one — round-robin alone would send it half of them.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderHealthTests(ITestOutputHelper output)
{
    private static readonly HealthCheckSettings FastHttpCheck = HealthCheckSettings.Default with
    {
        Type = HealthCheckType.Http,
        Path = "/healthz",
        Interval = TimeSpan.FromMilliseconds(100),
        Timeout = TimeSpan.FromMilliseconds(500),
        HealthyThreshold = 1,
        UnhealthyThreshold = 1,
    };

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task BackendFailingItsHttpCheck_GetsNoNewConnectionsAndGetsThemBackWhenItRecovers(ForwardingEngine engine)
    {
        await using var healthy = new HealthReportingBackend("a", healthy: true);
        await using var sick = new HealthReportingBackend("b", healthy: false);
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = LoopbackAddresses.NextListenerBinding();
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [healthy.Endpoint, sick.Endpoint]) with { HealthCheck = FastHttpCheck });
        await WaitForAvailabilityAsync(forwarder, binding, sick.Endpoint, available: false);

        var answers = await RequestAsync(binding, 10);

        Assert.All(answers, answer => Assert.Equal("a", answer));
        Assert.Equal(0, sick.Requests);

        sick.Healthy = true;
        await WaitForAvailabilityAsync(forwarder, binding, sick.Endpoint, available: true);
        answers = await RequestAsync(binding, 10);
        Assert.Contains("b", answers);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task EveryBackendFailingItsCheck_ConnectionsStillGoToAllOfThem(ForwardingEngine engine)
    {
        await using var first = new HealthReportingBackend("a", healthy: false);
        await using var second = new HealthReportingBackend("b", healthy: false);
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = LoopbackAddresses.NextListenerBinding();
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [first.Endpoint, second.Endpoint]) with { HealthCheck = FastHttpCheck });
        await WaitForAvailabilityAsync(forwarder, binding, first.Endpoint, available: false);
        await WaitForAvailabilityAsync(forwarder, binding, second.Endpoint, available: false);

        var answers = await RequestAsync(binding, 10);

        // The original's fallback: a possibly sick backend rather than no answer at all.
        Assert.Equal(["a", "b"], answers.Distinct().Order());
    }

    private static Task WaitForAvailabilityAsync(TcpForwarder forwarder, LoadBalancer.Domain.Addressing.PortBinding binding, Endpoint backend, bool available) =>
        forwarder.WaitForStatisticsAsync(
            binding,
            statistics => statistics.Backends.Any(candidate => candidate.Endpoint == backend && candidate.Available == available),
            $"backend {backend} to be {(available ? "available" : "out of rotation")} after its health checks");

    private static async Task<List<string>> RequestAsync(LoadBalancer.Domain.Addressing.PortBinding binding, int count)
    {
        var answers = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var client = await TestSockets.ConnectAsync(binding);
            await client.SendAllAsync("GET / HTTP/1.1\r\nHost: test\r\n\r\n"u8.ToArray(), CancellationToken.None);
            var (data, closed) = await client.ReadToCloseAsync(TestSockets.ShortWait, "the answer through the forwarder");
            Assert.Equal(CloseKind.Eof, closed.Kind);
            answers.Add(Encoding.ASCII.GetString(data).Split("\r\n\r\n", 2)[^1]);
        }

        return answers;
    }

    /// <summary>An HTTP/1.1 backend that answers /healthz with 200 or 503 and anything else with its name.</summary>
    private sealed class HealthReportingBackend : IAsyncDisposable
    {
        private readonly LoopbackServer _server;
        private volatile bool _healthy;
        private int _requests;

        public HealthReportingBackend(string name, bool healthy)
        {
            _healthy = healthy;
            _server = LoopbackServer.Start((socket, cancellationToken) => AnswerAsync(socket, name, cancellationToken));
        }

        public Endpoint Endpoint => _server.Endpoint;

        public bool Healthy
        {
            get => _healthy;
            set => _healthy = value;
        }

        /// <summary>Requests other than health checks: the ones clients sent through the forwarder.</summary>
        public int Requests => Volatile.Read(ref _requests);

        public ValueTask DisposeAsync() => _server.DisposeAsync();

        private async Task AnswerAsync(Socket socket, string name, CancellationToken cancellationToken)
        {
            var request = new StringBuilder();
            var buffer = new byte[1024];
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                request.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            string response;
            if (request.ToString().StartsWith("GET /healthz ", StringComparison.Ordinal))
            {
                response = _healthy ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" : "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
            }
            else
            {
                Interlocked.Increment(ref _requests);
                response = $"HTTP/1.1 200 OK\r\nContent-Length: {name.Length}\r\n\r\n{name}";
            }

            await socket.SendAsync(Encoding.ASCII.GetBytes(response), SocketFlags.None, cancellationToken);
            socket.Shutdown(SocketShutdown.Send);
        }
    }
}

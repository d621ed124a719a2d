using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// Many Services on the same dead nodes: 2,000 real listeners (127.0.131.x) whose two backends are ports nobody listens
/// on, checked by real TCP probes that are refused. The clock is fake, so the rounds come when the test says.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderHealthScaleTests(ITestOutputHelper output)
{
    private const int Listeners = 2_000;

    private static readonly HealthCheckSettings Checks = HealthCheckSettings.Default with
    {
        Interval = TimeSpan.FromSeconds(10),
        Timeout = TimeSpan.FromSeconds(5),
        UnhealthyThreshold = 3,
    };

    [Fact]
    public async Task TwoThousandListeners_OnTwoRefusingTargets_ProbeTwoTargets_AndWarnAHandfulOfTimes()
    {
        var time = new ObservableTimeProvider();
        var log = new RecordingLoggerFactory(output);
        await using var forwarder = TestForwarders.Create(ForwardingEngine.Copy, output, time: time, loggerFactory: log);
        Endpoint[] dead = [Refusing("127.0.131.251"), Refusing("127.0.131.252")];
        for (var index = 0; index < Listeners; index++)
        {
            // .1-.200: the health benchmark (bench/health-idle.sh) takes .249 and .250 for its dead targets.
            var ip = IPAddress.Parse($"127.0.131.{1 + (index % 200)}");
            var binding = new PortBinding(ip, ServicePort.Tcp(LoopbackAddresses.FreePort(ip)));
            await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, dead) with
            {
                Service = new ServiceKey("default", $"web-{index}"),
                HealthCheck = Checks,
            });
        }

        Assert.Equal(2, forwarder.HealthCheckTargets);
        for (var round = 1; round <= Checks.UnhealthyThreshold; round++)
        {
            var failed = round * 2;
            await Bounded.UntilAsync(() => log.WithId(2104).Count >= failed, TimeSpan.FromSeconds(10), $"round {round}: {failed} refused checks");
            if (round < Checks.UnhealthyThreshold)
            {
                time.Advance(Checks.Interval);
            }
        }

        await Bounded.UntilAsync(() => log.WithId(2101).Count == 2, TimeSpan.FromSeconds(10), "both targets unhealthy");
        time.Advance(TimeSpan.FromSeconds(30));
        await Bounded.UntilAsync(() => log.WithId(2106).Count == 1 && log.WithId(2015).Count == 1, TimeSpan.FromSeconds(10), "the summaries");

        var statistics = forwarder.GetAllStatistics();
        Assert.Equal(Listeners, statistics.Count(listener => listener.FallingBack));
        var warnings = log.Entries.Where(entry => entry.Level >= LogLevel.Warning).ToList();
        output.WriteLine($"{warnings.Count} warnings: {string.Join(" | ", warnings.Select(entry => $"{entry.EventId.Id} {entry.Message}"))}");

        // One target line in full, one listener falling back, and the two summaries of the rest.
        Assert.Equal([2010, 2015, 2101, 2106], warnings.Select(entry => entry.EventId.Id).Order());
        Assert.Contains("health: 2 of 2 checked targets unhealthy, 2000 listeners affected", log.WithId(2106)[0].Message);
        Assert.StartsWith("1999 more listeners fell back", log.WithId(2015)[0].Message);
    }

    [Fact]
    public async Task ChangingBackendsChecksOrHeader_MovesTheSubscriptionsExactly()
    {
        var time = new ObservableTimeProvider();
        await using var forwarder = TestForwarders.Create(ForwardingEngine.Copy, output, time: time);
        var first = Refusing("127.0.131.253");
        var second = Refusing("127.0.131.254");
        var a = Binding("127.0.131.1");
        var b = Binding("127.0.131.2");
        ListenerSpec Spec(PortBinding binding, params Endpoint[] backends) =>
            TestForwarders.Spec(binding, backends) with { Service = new ServiceKey("default", $"web-{binding.Port.Port}"), HealthCheck = Checks };

        await forwarder.ApplySucceedsAsync(Spec(a, first));
        await forwarder.ApplySucceedsAsync(Spec(b, first));
        Assert.Equal(1, forwarder.HealthCheckTargets);

        await forwarder.ApplySucceedsAsync(Spec(b, first, second));
        Assert.Equal(2, forwarder.HealthCheckTargets);

        await forwarder.ApplySucceedsAsync(Spec(b, second));
        Assert.Equal(2, forwarder.HealthCheckTargets);

        await forwarder.ApplySucceedsAsync(Spec(a, second));
        Assert.Equal(1, forwarder.HealthCheckTargets);

        await forwarder.ApplySucceedsAsync(Spec(a, second) with { HealthCheck = Checks with { Type = HealthCheckType.Http, Path = "/healthz" } });
        Assert.Equal(2, forwarder.HealthCheckTargets);

        await forwarder.ApplySucceedsAsync(Spec(b, second) with { ProxyProtocol = ProxyProtocolVersion.V1 });
        Assert.Equal(2, forwarder.HealthCheckTargets);

        await forwarder.ApplySucceedsAsync(Spec(b, second) with { HealthCheck = Checks with { Enabled = false } });
        Assert.Equal(1, forwarder.HealthCheckTargets);

        await forwarder.StopAsync(a, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(0, forwarder.HealthCheckTargets);
    }

    private static PortBinding Binding(string address)
    {
        var ip = IPAddress.Parse(address);
        return new PortBinding(ip, ServicePort.Tcp(LoopbackAddresses.FreePort(ip)));
    }

    /// <summary>A port on <paramref name="address"/> that nothing listens on: connects to it are refused at once.</summary>
    private static Endpoint Refusing(string address)
    {
        var ip = IPAddress.Parse(address);
        return new Endpoint(ip, LoopbackAddresses.FreePort(ip));
    }
}

using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.State;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Tests.State;

public sealed class DaemonStateTextTests
{
    private static readonly DateTimeOffset At = new(2025, 12, 1, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public void Render_ShowsRolePoolsAndServicesByNamespaceAndName_WithPortsAndBackendsAligned()
    {
        var web = new ServiceState("prod", "web", ServingState.Served, "192.168.0.225", IpSharingMode.Shared,
        [
            new PortState("TCP", 80, true, Traffic(12, 2, 2048, 5 * 1024 * 1024),
            [
                new EndpointState("10.0.0.1:8080", "node-a", BackendHealthState.Healthy, Traffic(12, 2, 2048, 5 * 1024 * 1024)),
                new EndpointState("10.0.0.22:8080", null, BackendHealthState.Ejected, Traffic(0, 0, 0, 0) with { ConnectionsFailed = 3 }),
            ]),
            new PortState("UDP", 53, false, null, []),
        ]);
        var clash = new ServiceState("default", "clash", ServingState.Refused, null, IpSharingMode.Exclusive,
            [new PortState("TCP", 80, false, null, [])])
        {
            RequestedIp = "192.168.0.225",
            Reason = "FAILED to allocate requested LoadBalancerIP 192.168.0.225:80 - Reason: IP:port 192.168.0.225:80 is already allocated",
        };
        var state = new DaemonState(DaemonRole.Leading, At, [new PoolState("default", "192.168.0.224/28", 14, 1)], [web, clash]);

        var text = DaemonStateText.Render(state);

        Assert.Equal(
            """
            state at 2025-12-01 10:30:00Z: leading; 2 Services (1 served, 1 refused)
            pool default 192.168.0.224/28: 1 used, 13 free of 14
            default/clash  -              refused (asked for 192.168.0.225)  exclusive: FAILED to allocate requested LoadBalancerIP 192.168.0.225:80 - Reason: IP:port 192.168.0.225:80 is already allocated
              TCP/80  not forwarded
            prod/web       192.168.0.225  served
              TCP/80  2 backends  open 2  total 12  in 2 KiB  out 5 MiB
                10.0.0.1:8080   healthy    open 2  total 12  in 2 KiB  out 5 MiB  node node-a
                10.0.0.22:8080  ejected    open 0  total 0  in 0 B  out 0 B  failed 3
              UDP/53  not forwarded
            """.ReplaceLineEndings("\n"),
            text);
    }

    [Fact]
    public void Render_ShortensLongValues_SayingHowLongTheyWere()
    {
        var longName = new string('n', 63);
        var reason = "spec.loadBalancerIP: " + new string('x', 10_000);
        var state = new DaemonState(DaemonRole.Leading, At, [],
            [new ServiceState("default", longName, ServingState.Invalid, null, IpSharingMode.Shared, []) { Reason = reason }]);

        var line = DaemonStateText.Render(state).Split('\n')[1];

        Assert.StartsWith($"default/{new string('n', DaemonStateText.MaxName - 1 - "default/".Length)}… (71 characters)  -  invalid: spec.loadBalancerIP: xxx", line, StringComparison.Ordinal);
        Assert.EndsWith("… (10021 characters)", line, StringComparison.Ordinal);
        Assert.True(line.Length < 300, $"the line is {line.Length} characters long");
    }

    [Fact]
    public void Render_StandingBy_SaysSoAndListsNoService()
    {
        var state = new DaemonState(DaemonRole.StandingBy, At, [new PoolState("default", "192.168.0.224/28", 14, 0)], []);

        Assert.Equal(
            "state at 2025-12-01 10:30:00Z: standing by (another replica serves); no Services\npool default 192.168.0.224/28: 0 used, 14 free of 14",
            DaemonStateText.Render(state));
    }

    [Fact]
    public void Render_BackendTheForwarderHasNotReportedOn_ShowsUnknownHealth_AndAllOutShowsTheFallback()
    {
        var state = new DaemonState(DaemonRole.Leading, At, [],
        [
            new ServiceState("default", "web", ServingState.Served, "192.168.0.225", IpSharingMode.Keyed,
                [new PortState("TCP", 80, true, null, [new EndpointState("10.0.0.1:8080", null, null, null)]) { FallingBack = true }])
            {
                SharingKey = "team-a",
                LoadBalancerClass = "littlelb.io/lb",
            },
        ]);

        Assert.Equal(
            """
            state at 2025-12-01 10:30:00Z: leading; 1 Services (1 served)
            default/web  192.168.0.225  served  shares with key team-a  class littlelb.io/lb
              TCP/80  1 backends (none healthy: falling back)
                10.0.0.1:8080  ?
            """.ReplaceLineEndings("\n"),
            DaemonStateText.Render(state));
    }

    private static TrafficSnapshot Traffic(long opened, long active, long fromClient, long fromBackend) =>
        new(opened, active, 0, 0, fromClient, fromBackend);
}

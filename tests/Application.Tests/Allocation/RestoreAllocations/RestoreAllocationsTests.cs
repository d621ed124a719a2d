using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Tests.Support;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NSubstitute;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Allocation.RestoreAllocations;

public sealed class RestoreAllocationsTests
{
    private static readonly DateTimeOffset Older = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Newer = new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly AllocationRegistry _registry = Registry();
    private readonly CapturingLogger<RestoreAllocationsHandler> _log = new();

    [Fact]
    public async Task Handle_ValidEntries_RestoresEachAtItsStatusIp()
    {
        var response = await Restore(
            new RestoredService(Spec("web", 80), "192.168.0.230"),
            new RestoredService(Spec("api", 443, 8443), "192.168.0.231"));

        Assert.True(response.Succeeded);
        Assert.Empty(response.Skipped);
        Assert.Empty(response.Report!.Conflicts);
        Assert.Equal(2, response.Report.Restored.Count);
        Assert.All(response.Report.Restored, restored => Assert.Equal(AllocationReason.Kept, restored.Reason));
        Assert.Equal(
            string.Join(Environment.NewLine,
                "192.168.0.230 (shared): 80=default/web",
                "192.168.0.231 (shared): 443=default/api, 8443=default/api"),
            Describe(_registry.Leases()));
    }

    [Fact]
    public async Task Handle_RestoredServiceAllocatedAgain_KeepsItsIpWithoutChange()
    {
        await Restore(new RestoredService(Spec("web", 80), "192.168.0.230"));

        var response = await AllocateHandler().Handle(new(Spec("web", 80)), CancellationToken.None);

        Assert.Equal(Ip("192.168.0.230"), response.Allocation!.Ip);
        Assert.False(response.Allocation.Changed);
    }

    [Fact]
    public async Task Handle_RestoredIpPort_IsNotGivenToANewService()
    {
        await Restore(new RestoredService(Spec("web", 80), "192.168.0.225"));

        var response = await AllocateHandler().Handle(new(Spec("other", 80)), CancellationToken.None);

        Assert.Equal(Ip("192.168.0.226"), response.Allocation!.Ip);
    }

    [Fact]
    public async Task Handle_StatusIpDiffersFromRequestedLoadBalancerIp_ServiceEndsUpOnRequestedIp()
    {
        // spec.loadBalancerIP was edited while the daemon was down: the status still shows the old IP. The spec is
        // what the user wants, so once the Service is reconciled it must hold the requested IP (or be refused), not
        // silently keep the stale one.
        var spec = Spec("web", 80) with { LoadBalancerIp = "192.168.0.231" };
        await Restore(new RestoredService(spec, "192.168.0.230"));

        var response = await AllocateHandler().Handle(new(spec), CancellationToken.None);

        Assert.Equal(Ip("192.168.0.231"), response.Allocation?.Ip);
    }

    [Fact]
    public async Task Handle_InvalidEntries_AreSkippedWithEveryErrorWhileValidOnesAreRestored()
    {
        var response = await Restore(
            new RestoredService(Spec("web", 80), "192.168.0.230"),
            new RestoredService(Spec("api", 443), "300.1.1.1"),
            new RestoredService(new ServiceSpec("Bad_NS", "db", [new("SCTP", 5432)]), "192.168.0.231"),
            new RestoredService(null!, "192.168.0.232"));

        var restored = Assert.Single(response.Report!.Restored);
        Assert.Equal(new ServiceKey("default", "web"), restored.Service);
        Assert.Equal("192.168.0.230 (shared): 80=default/web", Describe(_registry.Leases()));
        Assert.Equal(3, response.Skipped.Count);
        Assert.Equal(["default/api", "Bad_NS/db"], response.Skipped.Take(2).Select(skip => skip.Service));
        Assert.Equal(["status IP: invalid IP address: 300.1.1.1"], Messages(response.Skipped[0].Errors));
        Assert.Equal(
            [
                "namespace 'Bad_NS' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit",
                "protocol 'SCTP' of port 5432 must be TCP or UDP",
            ],
            Messages(response.Skipped[1].Errors));
        Assert.Equal(["service: a Service is required"], Messages(response.Skipped[2].Errors));
    }

    [Fact]
    public async Task Handle_SkippedEntry_ErrorsNameTheFieldAndValue()
    {
        var response = await Restore(new RestoredService(Spec("api", 443), "10.1"));

        var error = Assert.Single(Assert.Single(response.Skipped).Errors);
        Assert.Equal("Ip", error.Field);
        Assert.Equal("10.1", error.AttemptedValue);
    }

    [Fact]
    public async Task Handle_TwoServicesClaimSameIpPort_OlderServiceWinsWhateverTheOrder()
    {
        var response = await Restore(
            new RestoredService(Spec("newer", 80) with { CreatedAt = Newer }, "192.168.0.230"),
            new RestoredService(Spec("older", 80) with { CreatedAt = Older }, "192.168.0.230"));

        var restored = Assert.Single(response.Report!.Restored);
        Assert.Equal(new ServiceKey("default", "older"), restored.Service);
        var conflict = Assert.Single(response.Report.Conflicts);
        Assert.Equal(new ServiceKey("default", "newer"), conflict.Service);
        Assert.Equal(Ip("192.168.0.230"), conflict.Ip);
        Assert.Equal("IP:port 192.168.0.230:80 is already allocated", conflict.Reason);
        Assert.Equal(new ServiceKey("default", "older"), conflict.HeldBy);
        Assert.Equal("192.168.0.230 (shared): 80=default/older", Describe(_registry.Leases()));
    }

    [Fact]
    public async Task Handle_StatusIpOutsidePool_IsReportedAsConflict()
    {
        var response = await Restore(new RestoredService(Spec("web", 80), "10.0.0.1"));

        Assert.Empty(response.Report!.Restored);
        var conflict = Assert.Single(response.Report.Conflicts);
        Assert.Equal("IP 10.0.0.1 is not in CIDR range 192.168.0.224/28 of pool 'default'", conflict.Reason);
        Assert.Null(conflict.HeldBy);
        Assert.Empty(_registry.Leases());
    }

    [Fact]
    public async Task Handle_ConflictAndSkip_AreLoggedAsWarnings()
    {
        await Restore(
            new RestoredService(Spec("older", 80) with { CreatedAt = Older }, "192.168.0.230"),
            new RestoredService(Spec("newer", 80) with { CreatedAt = Newer }, "192.168.0.230"),
            new RestoredService(Spec("api", 443), "300.1.1.1"));

        Assert.Equal(
            [
                (LogLevel.Information, 1005, "Restored 1 assignments"),
                (LogLevel.Warning, 1006, "Could not restore 192.168.0.230 for default/newer: IP:port 192.168.0.230:80 is already allocated"),
                (LogLevel.Warning, 1008, "Not restoring default/api: status IP: invalid IP address: 300.1.1.1"),
            ],
            _log.Entries.Select(entry => (entry.Level, entry.EventId.Id, entry.Message)));
    }

    [Fact]
    public async Task Handle_NoEntries_RestoresNothing()
    {
        var response = await Restore();

        Assert.True(response.Succeeded);
        Assert.Empty(response.Report!.Restored);
        Assert.Empty(response.Report.Conflicts);
        Assert.Empty(response.Skipped);
    }

    [Fact]
    public async Task Handle_ValidEntry_PassesMappedRequestAndIpToRegistry()
    {
        var registry = Substitute.For<IAllocationRegistry>();
        IReadOnlyList<RestoredAssignment>? sent = null;
        var report = new RestoreReport([], []);
        registry.Restore(Arg.Do<IReadOnlyList<RestoredAssignment>>(assignments => sent = assignments)).Returns(report);
        var spec = new ServiceSpec("shop", "web", [Tcp(443), Udp(53)], SharingKey: "team-a", CreatedAt: Older);
        var handler = new RestoreAllocationsHandler(registry, new RestoredServiceValidator(),
            NullLogger<RestoreAllocationsHandler>.Instance);

        var response = await handler.Handle(new([new RestoredService(spec, "192.168.0.230")]), CancellationToken.None);

        Assert.Same(report, response.Report);
        var assignment = Assert.Single(sent!);
        Assert.Equal(Ip("192.168.0.230"), assignment.Ip);
        Assert.Equal(new ServiceKey("shop", "web"), assignment.Request.Service);
        Assert.Equal([ServicePort.Udp(53), ServicePort.Tcp(443)], assignment.Request.Ports);
        Assert.Equal(IpSharing.WithKey("team-a"), assignment.Request.Sharing);
        Assert.Equal(Older, assignment.Request.CreatedAt);
    }

    [Fact]
    public async Task Handle_NullCommand_Throws()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await Handler().Handle(null!, CancellationToken.None));
    }

    private RestoreAllocationsHandler Handler() => new(_registry, new RestoredServiceValidator(), _log);

    private AllocateLoadBalancerIpHandler AllocateHandler() =>
        new(_registry, new AllocationMetrics(new TestMeterFactory(), _registry), NullLogger<AllocateLoadBalancerIpHandler>.Instance);

    private async Task<RestoreAllocationsResponse> Restore(params RestoredService[] services) =>
        await Handler().Handle(new(services), CancellationToken.None);
}

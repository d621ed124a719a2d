using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.State;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Tests.Reconciliation;

public sealed class ServiceConditionsTests
{
    private static readonly ServiceKey Web = new("default", "web");
    private static readonly ServiceEvent NoBackends = new(Web, ServiceEventType.Warning, ServiceEventReasons.NoBackends, "ports 80 have no backends");
    private static readonly ServiceEvent Allocated = new(Web, ServiceEventType.Normal, ServiceEventReasons.Allocated, "Assigned IP 192.168.0.225 (new) for ports 80");

    private readonly RecordingEventRecorder _recorder = new();
    private readonly ServiceConditions _conditions;

    public ServiceConditionsTests() => _conditions = new ServiceConditions(_recorder, new RecentEvents(TimeProvider.System));

    [Fact]
    public async Task SameFactTwice_IsRecordedOnce_AChangedOneAgain()
    {
        Assert.True(await _conditions.ReportAsync(NoBackends, default));
        Assert.False(await _conditions.ReportAsync(NoBackends, default));
        Assert.True(await _conditions.ReportAsync(NoBackends with { Message = "ports 80, 443 have no backends" }, default));

        Assert.Equal(2, _recorder.Recorded.Count);
    }

    [Fact]
    public async Task NormalEventOfAnotherReason_MakesEarlierWarningsNewsAgain()
    {
        await _conditions.ReportAsync(NoBackends, default);
        await _conditions.ReportAsync(Allocated, default);

        Assert.False(await _conditions.StandsAsync(Web, ServiceEventReasons.NoBackends, default));
        Assert.True(await _conditions.ReportAsync(NoBackends, default));
    }

    [Fact]
    public async Task Seeded_WhatTheSinkHolds_CountsAsTold_InItsOrder()
    {
        _conditions.Seed([NoBackends, Allocated, NoBackends with { Message = "ports 443 have no backends" }]);

        Assert.False(await _conditions.ReportAsync(NoBackends with { Message = "ports 443 have no backends" }, default));
        Assert.False(await _conditions.ReportAsync(Allocated, default));
        Assert.True(await _conditions.ReportAsync(NoBackends, default));
    }

    [Fact]
    public async Task Resolved_ComesBackAsNews()
    {
        await _conditions.ReportAsync(NoBackends, default);

        await _conditions.ResolveAsync(Web, ServiceEventReasons.NoBackends, default);

        Assert.True(await _conditions.ReportAsync(NoBackends, default));
    }

    [Fact]
    public async Task Forgotten_Service_StartsOver()
    {
        await _conditions.ReportAsync(NoBackends, default);

        await _conditions.ForgetAsync(Web, default);

        Assert.True(await _conditions.ReportAsync(NoBackends, default));
    }

    [Fact]
    public async Task WhileTheSinkIsStillBeingRead_DecisionsWait_ThenCountWhatItHolds()
    {
        var held = new TaskCompletionSource<IReadOnlyList<ServiceEvent>>();
        _conditions.SeedFrom(held.Task, _ => { });

        var reporting = _conditions.ReportAsync(NoBackends, default).AsTask();
        Assert.False(reporting.IsCompleted);

        held.SetResult([NoBackends]);

        Assert.False(await reporting.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Empty(_recorder.Recorded);
    }

    [Fact]
    public async Task SinkThatCannotBeRead_IsReported_AndEverythingIsToldOnce()
    {
        Exception? reported = null;
        _conditions.SeedFrom(Task.FromException<IReadOnlyList<ServiceEvent>>(new HttpRequestException("403 Forbidden")), failure => reported = failure);

        Assert.True(await _conditions.ReportAsync(NoBackends, default));
        Assert.Equal("403 Forbidden", reported?.Message);
    }
}

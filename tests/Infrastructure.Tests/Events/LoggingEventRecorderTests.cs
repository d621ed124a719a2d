using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Events;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Events;

public sealed class LoggingEventRecorderTests
{
    private static readonly ServiceKey Service = new("default", "web");
    private readonly CapturingLogger<LoggingEventRecorder> _logger = new();

    [Fact]
    public async Task Record_WarningEvent_LogsAWarningWithServiceReasonAndMessage()
    {
        var recorder = new LoggingEventRecorder(_logger);

        await recorder.RecordAsync(new ServiceEvent(Service, ServiceEventType.Warning, "AllocationFailed", "no available IPs for port 80 in pool 'default'"), CancellationToken.None);

        var entry = Assert.Single(_logger.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal(3002, entry.EventId.Id);
        Assert.Equal("default/web AllocationFailed: no available IPs for port 80 in pool 'default'", entry.Message);
    }

    [Fact]
    public async Task Record_NormalEvent_LogsInformation()
    {
        var recorder = new LoggingEventRecorder(_logger);

        await recorder.RecordAsync(new ServiceEvent(Service, ServiceEventType.Normal, "IPAllocated", "192.168.0.225 (new)"), CancellationToken.None);

        Assert.Equal(LogLevel.Information, Assert.Single(_logger.Entries).Level);
    }

    [Fact]
    public async Task Record_SameEventTwice_LogsItTwice()
    {
        // Deciding what is news is the reconciler's (ServiceConditions): the recorder logs what it is given.
        var recorder = new LoggingEventRecorder(_logger);
        var serviceEvent = new ServiceEvent(Service, ServiceEventType.Normal, "IPAllocated", "192.168.0.225 (new)");

        await recorder.RecordAsync(serviceEvent, CancellationToken.None);
        await recorder.RecordAsync(serviceEvent with { }, CancellationToken.None);

        Assert.Equal(2, _logger.Entries.Count);
    }

    [Fact]
    public async Task HeldAsync_AfterRecording_IsEmpty()
    {
        // A log keeps nothing a restart could read back, so the reconciler tells the current state again.
        var recorder = new LoggingEventRecorder(_logger);
        await recorder.RecordAsync(new ServiceEvent(Service, ServiceEventType.Warning, "NoBackends", "ports 80 have no backend"), CancellationToken.None);

        Assert.Empty(await recorder.HeldAsync(CancellationToken.None));
    }
}

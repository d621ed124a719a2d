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

        await recorder.RecordAsync(new ServiceEvent(Service, ServiceEventType.Warning, "AllocationFailed", "no available IPs for port 80 in pool"), CancellationToken.None);

        var entry = Assert.Single(_logger.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal(3002, entry.EventId.Id);
        Assert.Equal("default/web AllocationFailed: no available IPs for port 80 in pool", entry.Message);
    }

    [Fact]
    public async Task Record_NormalEvent_LogsInformation()
    {
        var recorder = new LoggingEventRecorder(_logger);

        await recorder.RecordAsync(new ServiceEvent(Service, ServiceEventType.Normal, "IPAllocated", "192.168.0.225 (new)"), CancellationToken.None);

        Assert.Equal(LogLevel.Information, Assert.Single(_logger.Entries).Level);
    }

    [Fact]
    public async Task Record_SameEventTwice_LogsItOnce()
    {
        var recorder = new LoggingEventRecorder(_logger);
        var serviceEvent = new ServiceEvent(Service, ServiceEventType.Normal, "IPAllocated", "192.168.0.225 (new)");

        await recorder.RecordAsync(serviceEvent, CancellationToken.None);
        await recorder.RecordAsync(serviceEvent with { }, CancellationToken.None);

        Assert.Single(_logger.Entries);
    }

    [Fact]
    public async Task Record_EventThatChanges_IsLoggedAgain()
    {
        var recorder = new LoggingEventRecorder(_logger);
        var allocated = new ServiceEvent(Service, ServiceEventType.Normal, "IPAllocated", "192.168.0.225 (new)");

        await recorder.RecordAsync(allocated, CancellationToken.None);
        await recorder.RecordAsync(allocated with { Reason = "IPReleased" }, CancellationToken.None);
        await recorder.RecordAsync(allocated, CancellationToken.None);

        Assert.Equal(3, _logger.Entries.Count);
    }
}

using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Health;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Backends;

/// <summary>
/// One listener's health of a backend. The thresholds are counted by the target's shared <see cref="HealthVerdict"/>,
/// which these tests stand in for (<see cref="Report"/>), as <see cref="TargetHealthCheck"/> does.
/// </summary>
public sealed class BackendHealthTests
{
    private static readonly HealthCheckSettings ChecksOn = new() { HealthyThreshold = 2, UnhealthyThreshold = 3 };
    private static readonly HealthCheckSettings ChecksOff = new() { Enabled = false };
    private static readonly ForwarderOptions Options = new() { PassiveEjectionThreshold = 3, PassiveEjectionDuration = TimeSpan.FromSeconds(30) };

    private readonly FakeTimeProvider _time = new();
    private readonly Dictionary<BackendHealth, HealthVerdict> _verdicts = [];

    [Fact]
    public void NewBackend_IsAvailable()
    {
        var health = Create(ChecksOn);

        Assert.True(health.IsAvailable);
        Assert.True(health.IsHealthy);
        Assert.False(health.IsEjected);
    }

    [Fact]
    public void ReportCheck_FailuresBelowTheThreshold_KeepItAvailable()
    {
        var health = Create(ChecksOn);

        Report(health, false, false);

        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void ReportCheck_UnhealthyThresholdOfFailures_MakesItUnavailableAndRaisesOnce()
    {
        var health = Create(ChecksOn);
        var raised = CountRaised(health);

        Report(health, false, false, false, false, false);

        Assert.False(health.IsAvailable);
        Assert.False(health.IsHealthy);
        Assert.Equal(1, raised());
    }

    [Fact]
    public void ReportCheck_APassBetweenFailures_StartsTheCountAgain()
    {
        var health = Create(ChecksOn);

        Report(health, false, false, true, false, false);

        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void ReportCheck_Unhealthy_NeedsHealthyThresholdPassesInARow()
    {
        var health = Create(ChecksOn);
        Report(health, false, false, false);

        Report(health, true, false, true);
        var afterInterruptedPasses = health.IsAvailable;
        Report(health, true);

        Assert.False(afterInterruptedPasses);
        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void Verdict_SaysWhatChanged_AndSoDoesTheBackendThatTakesIt()
    {
        var verdict = new HealthVerdict(ChecksOn);
        var health = Create(ChecksOn);

        bool[] results = [false, false, false, true, true];

        var changes = results.Select(verdict.Record).ToList();
        var taken = health.ReportCheck(passed: false, healthy: false);

        Assert.Equal(
            [HealthChanges.None, HealthChanges.None, HealthChanges.BecameUnhealthy, HealthChanges.None, HealthChanges.BecameHealthy],
            changes);
        Assert.Equal(HealthChanges.BecameUnhealthy, taken);
        Assert.Equal(HealthChanges.None, health.ReportCheck(passed: false, healthy: false));
    }

    [Fact]
    public void ReportConnectFailed_ThresholdInARow_EjectsTheBackend()
    {
        var health = Create(ChecksOn);
        var raised = CountRaised(health);

        health.ReportConnectFailed();
        health.ReportConnectFailed();
        var beforeThreshold = health.IsAvailable;
        health.ReportConnectFailed();

        Assert.True(beforeThreshold);
        Assert.False(health.IsAvailable);
        Assert.True(health.IsEjected);
        Assert.True(health.IsHealthy);
        Assert.Equal(1, raised());
    }

    [Fact]
    public void ReportConnectFailed_ASuccessInBetween_StartsTheCountAgain()
    {
        var health = Create(ChecksOn);

        health.ReportConnectFailed();
        health.ReportConnectFailed();
        health.ReportConnectSucceeded();
        health.ReportConnectFailed();
        health.ReportConnectFailed();

        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void Ejected_WithChecksOn_StaysOutHoweverLongUntilACheckPasses()
    {
        var health = Create(ChecksOn);
        Eject(health);

        _time.Advance(TimeSpan.FromHours(1));
        var afterAnHour = health.IsAvailable;
        var changes = health.ReportCheck(passed: true, healthy: true);

        Assert.False(afterAnHour);
        Assert.Equal(HealthChanges.EjectionEnded, changes);
        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void Ejected_WithChecksOff_ComesBackAfterTheEjectionDuration()
    {
        var health = Create(ChecksOff);
        var raised = CountRaised(health);
        Eject(health);

        _time.Advance(TimeSpan.FromSeconds(29));
        var justBefore = health.IsAvailable;
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.False(justBefore);
        Assert.True(health.IsAvailable);
        Assert.Equal(2, raised());
    }

    [Fact]
    public void Ejected_WithChecksOff_CanBeEjectedAgainAfterComingBack()
    {
        var health = Create(ChecksOff);
        Eject(health);
        _time.Advance(TimeSpan.FromSeconds(30));

        health.ReportConnectFailed();
        health.ReportConnectFailed();
        var afterTwo = health.IsAvailable;
        health.ReportConnectFailed();

        Assert.True(afterTwo);
        Assert.False(health.IsAvailable);
    }

    [Fact]
    public void Ejected_ConnectSucceeds_EndsTheEjection()
    {
        var health = Create(ChecksOn);
        Eject(health);

        health.ReportConnectSucceeded();

        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void Ejected_EndedBySuccessThenEjectedAgain_TheFirstTimerDoesNotEndTheSecondEjection()
    {
        var health = Create(ChecksOff);
        Eject(health);
        _time.Advance(TimeSpan.FromSeconds(20));
        health.ReportConnectSucceeded();
        Eject(health);

        _time.Advance(TimeSpan.FromSeconds(15));
        var whenTheFirstWouldHaveEnded = health.IsAvailable;
        _time.Advance(TimeSpan.FromSeconds(15));

        Assert.False(whenTheFirstWouldHaveEnded);
        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void EjectedAndUnhealthy_APassingCheck_EndsTheEjectionButNotTheUnhealthiness()
    {
        var health = Create(ChecksOn);
        Report(health, false, false, false);
        Eject(health);

        Report(health, true);
        var afterOnePass = (health.IsAvailable, health.IsEjected);
        Report(health, true);

        Assert.Equal((false, false), afterOnePass);
        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void ReportConnectFailed_ThresholdZero_NeverEjects()
    {
        var health = new BackendHealth(ChecksOn, Options with { PassiveEjectionThreshold = 0 }, _time);

        for (var failure = 0; failure < 10; failure++)
        {
            health.ReportConnectFailed();
        }

        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void AvailabilityChanged_IsRaisedOutsideTheLock()
    {
        var health = Create(ChecksOn);
        var readFromAnotherThread = false;
        health.AvailabilityChanged += () =>
            // Under the lock, another thread's read of a locked property would wait for this handler to return.
            readFromAnotherThread = Task.Run(() => health.IsHealthy).Wait(TimeSpan.FromSeconds(5));

        Report(health, false, false, false);

        Assert.True(readFromAnotherThread);
    }

    [Fact]
    public void AvailabilityChanged_NoRealChange_IsNotRaised()
    {
        var health = Create(ChecksOn);
        var raised = CountRaised(health);

        Report(health, true, true, false, true);
        health.ReportConnectSucceeded();

        Assert.Equal(0, raised());
    }

    [Fact]
    public void Reports_FromManyThreads_ChangeAvailabilityExactlyOnce()
    {
        var health = Create(ChecksOn);
        var raised = CountRaised(health);

        Parallel.For(0, 8, _ =>
        {
            for (var report = 0; report < 1_000; report++)
            {
                health.ReportCheck(passed: false, healthy: false);
            }
        });

        Assert.False(health.IsAvailable);
        Assert.Equal(1, raised());
    }

    private BackendHealth Create(HealthCheckSettings settings) => new(settings, Options, _time);

    /// <summary>Checks of the backend's target ending with <paramref name="results"/>, each handed to the backend with the verdict.</summary>
    private void Report(BackendHealth health, params bool[] results)
    {
        if (!_verdicts.TryGetValue(health, out var verdict))
        {
            verdict = _verdicts[health] = new HealthVerdict(ChecksOn);
        }

        foreach (var result in results)
        {
            verdict.Record(result);
            health.ReportCheck(result, verdict.IsHealthy);
        }
    }

    private static void Eject(BackendHealth health)
    {
        for (var failure = 0; failure < Options.PassiveEjectionThreshold; failure++)
        {
            health.ReportConnectFailed();
        }

        Assert.True(health.IsEjected);
    }

    private static Func<int> CountRaised(BackendHealth health)
    {
        var count = 0;
        health.AvailabilityChanged += () => Interlocked.Increment(ref count);
        return () => Volatile.Read(ref count);
    }
}

using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Leadership;

/// <summary>
/// Leader election on virtual time: candidates on an in-memory Lease that a test can make answer anything, and a
/// clock that moves only from one due timer to the next. Lease duration 2 s, renew deadline 1.5 s, retry period 0.25 s.
/// </summary>
public sealed class LeaseElectorTests
{
    private static readonly TimeSpan Retry = Election.Options.RetryPeriod;
    private static readonly TimeSpan Duration = Election.Options.LeaseDuration;
    private static readonly TimeSpan Deadline = Election.Options.RenewDeadline;

    /// <summary>The log lines of an unusable run through five failures: its start, four changes, its end.</summary>
    private static readonly int[] RunLogIds = [5312, 5315, 5315, 5315, 5315, 5313];
    private static readonly string[] ChangedFailures = ["HTTP 403", "HTTP 500", "timeout", "unreachable"];

    /// <summary>Answers that say nothing about who holds the Lease.</summary>
    public static TheoryData<string> Failures => ["401", "403", "404 on create", "429", "500", "503", "timeout", "no answer", "refused", "reset", "malformed"];

    [Fact]
    public async Task FirstCandidate_CreatesTheLease_AndLeadsAtOnce()
    {
        await using var election = new Election();
        var one = election.Start("one");

        var took = await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));

        Assert.Equal(TimeSpan.Zero, took);
        Assert.True(one.Elector.IsLeader);
        Assert.Equal("one", one.Elector.Leader);
        Assert.Equal("one", election.Api.Holder);
        Assert.Equal(new[] { (LeaseVerb.Read, LeaseAnswerKind.NotFound), (LeaseVerb.Create, LeaseAnswerKind.Lease) },
            election.Api.Calls.Select(call => (call.Verb, call.Answer)));
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Leader_ApiAnswersOnlyErrorsForTenLeaseDurations_KeepsLeading_AndRenewsOnceAnswersComeBack(string failure)
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));
        var two = election.Start("two");
        await election.RunForAsync(TimeSpan.FromSeconds(1));

        // Down for everyone: the standby cannot read either.
        var outageFrom = election.Api.Calls.Count;
        Break(one.Client, failure);
        Break(two.Client, failure);
        await election.RunForAsync(10 * Duration, () =>
        {
            Assert.True(one.Leading);
            Assert.True(one.Elector.IsLeader);
            Assert.Equal(0, two.Terms);
        });
        var failed = election.Api.Calls.Skip(outageFrom).Count(call => call.Candidate == "one");
        Assert.InRange(failed, 10, int.MaxValue);

        Heal(one.Client);
        Heal(two.Client);
        var healedFrom = election.Api.Calls.Count;
        await election.RunUntilAsync(
            () => election.Api.Calls.Skip(healedFrom).Any(call => call is { Candidate: "one", Verb: LeaseVerb.Replace, Answer: LeaseAnswerKind.Lease }),
            Deadline + Retry);
        await election.RunForAsync(3 * Duration, () =>
        {
            Assert.True(one.Leading);
            Assert.Equal(0, two.Terms);
        });

        Assert.Equal(1, one.Terms);
        Assert.Null(one.StoodDown);
        Assert.Equal("one", election.Api.Holder);
        Assert.Equal("one", two.Elector.Leader);
    }

    [Fact]
    public async Task Leader_StandsDown_AtTheFirstReadThatShowsAnotherHolder_AndReleasesNothing()
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));
        await election.RunForAsync(TimeSpan.FromSeconds(1));

        var from = election.Api.Calls.Count;
        election.Api.Edit(lease => lease.Spec.HolderIdentity = "usurper");
        var took = await election.RunUntilAsync(() => !one.Leading, TimeSpan.FromSeconds(1));

        // The next renewal conflicts, the read that follows shows the other holder, and that is enough.
        Assert.InRange(took, TimeSpan.Zero, Retry);
        Assert.Equal(new[] { (LeaseVerb.Replace, LeaseAnswerKind.Conflict), (LeaseVerb.Read, LeaseAnswerKind.Lease) },
            election.Api.Calls.Skip(from).Select(call => (call.Verb, call.Answer)).Take(2));
        Assert.False(one.Elector.IsLeader);
        Assert.Equal("usurper", one.Elector.Leader);
        Assert.Equal("usurper", election.Api.Holder);
        Assert.Contains(one.Logger.Entries, entry => entry.EventId.Id == 5303 && entry.Message.Contains("usurper", StringComparison.Ordinal));

        // A standby now, it writes nothing while the usurper's Lease runs.
        var standby = election.Api.Calls.Count;
        await election.RunForAsync(Duration / 2);
        Assert.DoesNotContain(election.Api.Calls.Skip(standby), call => call.Verb != LeaseVerb.Read);
        Assert.Equal(1, one.Terms);
    }

    [Theory]
    [InlineData("one")]
    [InlineData("")]
    [InlineData(null)]
    public async Task Leader_KeepsLeading_WhenAReadShowsItselfOrNobody(string? holder)
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));

        // Another writer touched the Lease: the renewal conflicts, and the read says nothing against this leader.
        var from = election.Api.Calls.Count;
        election.Api.Edit(lease => lease.Spec.HolderIdentity = holder);
        await election.RunForAsync(3 * Duration, () => Assert.True(one.Leading));

        Assert.Contains(election.Api.Calls.Skip(from), call => call.Verb == LeaseVerb.Read);
        Assert.Equal(1, one.Terms);
        Assert.Null(one.StoodDown);
        Assert.Equal("one", election.Api.Holder);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Leader_WhoseLeaseWasDeleted_CreatesItAgain_AndKeepsLeading(bool renewalConflictsFirst)
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));

        var from = election.Api.Calls.Count;
        if (renewalConflictsFirst)
        {
            // Then the 404 comes from the read.
            one.Client.AnswerNext(LeaseAnswer.Conflict);
        }

        election.Api.Delete();
        await election.RunUntilAsync(() => election.Api.Holder == "one", 2 * Retry, () => Assert.True(one.Leading));
        await election.RunForAsync(Duration, () => Assert.True(one.Leading));

        var created = election.Api.Calls.Skip(from).ToList().FindIndex(call => call.Verb == LeaseVerb.Create);
        Assert.Equal((LeaseVerb.Create, LeaseAnswerKind.Lease), (election.Api.Calls[from + created].Verb, election.Api.Calls[from + created].Answer));
        Assert.Equal(LeaseAnswerKind.NotFound, election.Api.Calls[from + created - 1].Answer);
        Assert.Equal(1, one.Terms);
        Assert.Contains(one.Logger.Entries, entry => entry.EventId.Id == 5316);
    }

    [Fact]
    public async Task Leader_RenewsWithOneWritePerRetryPeriod_AndNoReads()
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));

        var from = election.Api.Calls.Count;
        await election.RunForAsync(TimeSpan.FromSeconds(10));

        var renewals = election.Api.Calls.Skip(from).ToList();
        Assert.All(renewals, call => Assert.Equal((LeaseVerb.Replace, LeaseAnswerKind.Lease, "one"), (call.Verb, call.Answer, call.WrittenHolder)));
        Assert.InRange(renewals.Count, 39, 40);
        Assert.All(renewals.Zip(renewals.Skip(1)), pair => Assert.Equal(Retry, pair.Second.At - pair.First.At));
    }

    [Fact]
    public async Task TwoCandidatesStartedTogether_ExactlyOneLeads_AndTheOtherKnowsWho()
    {
        await using var election = new Election();
        var one = election.Start("one");
        var two = election.Start("two");

        await election.RunForAsync(5 * Duration, () => Assert.False(one.Leading && two.Leading, "both lead"));

        Assert.Equal(1, one.Terms + two.Terms);
        var (leader, standby) = one.Leading ? (one, two) : (two, one);
        Assert.True(leader.Leading);
        Assert.Equal(leader.Elector.Identity, election.Api.Holder);
        Assert.Equal(leader.Elector.Identity, standby.Elector.Leader);
        Assert.False(standby.Elector.IsLeader);
    }

    [Fact]
    public async Task Standby_TakesOverAnExpiredLease_WhenTheHoldersDurationHasRunOutOnItsOwnClock()
    {
        await using var election = new Election();

        // A renewTime an hour old proves nothing (clocks differ between nodes); the holder's 3 s count from the first read.
        election.Api.Put("crashed", durationSeconds: 3, renewTime: election.Now.UtcDateTime.AddHours(-1), transitions: 4);
        var one = election.Start("one");

        var took = await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(10));

        Assert.InRange(took, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3) + TimeSpan.FromMilliseconds(20));
        Assert.Equal("one", election.Api.Holder);
        Assert.Equal(5, election.Api.Lease!.Spec.LeaseTransitions);
        Assert.Equal(election.Now.UtcDateTime, election.Api.Lease!.Spec.AcquireTime!.Value, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task Standby_TakesOverAtOnce_WhenTheLeaderStopsAndReleases()
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));
        var two = election.Start("two");
        await election.RunForAsync(TimeSpan.FromSeconds(1), () => Assert.Equal(0, two.Terms));

        await one.StopAsync();
        Assert.Equal(string.Empty, election.Api.Holder);
        var took = await election.RunUntilAsync(() => two.Leading, Duration);

        // At its next look, not after the lease duration.
        Assert.InRange(took, TimeSpan.Zero, Retry * 1.2);
        Assert.Equal("two", election.Api.Holder);
        Assert.Equal(1, election.Api.Lease!.Spec.LeaseTransitions);
    }

    [Fact]
    public async Task RestartedReplica_FindingTheLeaseInItsOwnName_ResumesAtOnce()
    {
        await using var election = new Election();
        var acquired = election.Now.UtcDateTime.AddMinutes(-5);
        election.Api.Put("one", durationSeconds: 2, renewTime: acquired, transitions: 3);
        election.Api.Edit(lease => lease.Spec.RenewTime = election.Now.UtcDateTime);

        var one = election.Start("one");
        var took = await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));

        Assert.Equal(TimeSpan.Zero, took);
        Assert.Equal(3, election.Api.Lease!.Spec.LeaseTransitions);
        Assert.Equal(acquired, election.Api.Lease!.Spec.AcquireTime!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Contains(one.Logger.Entries, entry => entry.EventId.Id == 5319);
    }

    [Fact]
    public async Task LeaderCutOffAlone_KeepsLeadingUntilItCanRead_AndStandsDownAtItsFirstRead()
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));
        var two = election.Start("two");
        await election.RunForAsync(TimeSpan.FromSeconds(1));

        one.Client.Failing = LeaseAnswer.Unreachable("Connection refused");
        var takeover = await election.RunUntilAsync(() => two.Leading, 2 * Duration, () => Assert.True(one.Leading));

        // The standby counts the duration from when it saw the last renewal (up to one look before the cut).
        Assert.InRange(takeover, Duration - (Retry * 1.2), Duration + (Retry * 1.2) + TimeSpan.FromMilliseconds(10));
        Assert.True(one.Leading);

        one.Client.Failing = null;
        var standDown = await election.RunUntilAsync(() => !one.Leading, Duration);

        Assert.InRange(standDown, TimeSpan.Zero, Retry);
        Assert.True(two.Leading);
        Assert.Equal("two", election.Api.Holder);
        Assert.Equal("two", one.Elector.Leader);
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Standby_KeepsLookingThroughErrors_NeverWritesOnOne_AndCountsTheHoldersDurationFromItsFirstAnswer(string failure)
    {
        await using var election = new Election();
        election.Api.Put("crashed", durationSeconds: 2);
        var two = election.Start("two");
        await election.RunForAsync(Duration / 4);

        // The holder's duration runs out during the outage; an error is no evidence that it did not renew.
        var outageFrom = election.Api.Calls.Count;
        Break(two.Client, failure);
        await election.RunForAsync(3 * Duration, () => Assert.Equal(0, two.Terms));
        Assert.DoesNotContain(election.Api.Calls.Skip(outageFrom), call => call.Verb != LeaseVerb.Read);

        Heal(two.Client);
        var took = await election.RunUntilAsync(() => two.Leading, 3 * Duration);

        // From the first answer after the outage (at worst a hanging look's deadline and a look later), one duration.
        Assert.InRange(took, Duration, Deadline + (Retry * 1.2) + Duration + TimeSpan.FromMilliseconds(10));
        Assert.Single(two.Logger.Entries, entry => entry.EventId.Id == 5314 && entry.Level == LogLevel.Information);
        Assert.Single(two.Logger.Entries, entry => entry.EventId.Id == 5313 && entry.Level == LogLevel.Information);
    }

    [Fact]
    public async Task Leader_LogsAnUnusableRun_WhenItStarts_WhenItsFailureChanges_AndOnceWhenAnswersComeBack()
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));
        var logged = one.Logger.Entries.Count;
        var from = election.Api.Calls.Count;

        foreach (var answer in new[]
        {
            LeaseAnswer.Status(401, "Unauthorized"), LeaseAnswer.Status(403, "Forbidden"), LeaseAnswer.Status(500, "Internal Server Error"),
            LeaseAnswer.TimedOut("the HTTP client's timeout"), LeaseAnswer.Unreachable("Connection refused"),
        })
        {
            one.Client.Failing = answer;
            await election.RunForAsync(Duration);
        }

        one.Client.Failing = null;
        await election.RunForAsync(Duration);

        var unusable = election.Api.Calls.Skip(from).Count(call => call.Answer != LeaseAnswerKind.Lease);
        var entries = one.Logger.Entries.Skip(logged).ToList();
        var visible = entries.Where(entry => entry.Level >= LogLevel.Information).ToList();
        Assert.Equal(RunLogIds, visible.Select(entry => entry.EventId.Id));
        Assert.Contains("HTTP 401 (Unauthorized)", visible[0].Message, StringComparison.Ordinal);
        Assert.Equal(ChangedFailures, visible.Skip(1).Take(4).Select(entry => ChangedFailures.Single(failure => entry.Message.Contains($"gets {failure}", StringComparison.Ordinal))));
        Assert.Contains($"after {unusable} unanswered/unusable looks", visible[5].Message, StringComparison.Ordinal);
        Assert.Equal(unusable, entries.Count(entry => entry.Level == LogLevel.Debug && entry.EventId.Id is 5308 or 5310 or 5311));
        Assert.InRange(unusable, 5 * 7, int.MaxValue);
    }

    [Fact]
    public async Task Cancellation_LandingMidRenewal_ReturnsWithoutThrowing_AndReleasesTheLeaseAfterLeadStoodDown()
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));
        one.Client.Hanging = true;
        await election.RunUntilAsync(() => election.Api.Pending == 1, TimeSpan.FromSeconds(1));
        one.Client.Hanging = false;

        one.Cancel();
        await Task.WhenAny(one.Run, Task.Delay(TimeSpan.FromSeconds(5)));

        Assert.Equal(TaskStatus.RanToCompletion, one.Run.Status);
        Assert.False(one.Leading);
        Assert.Equal(string.Empty, election.Api.Holder);
        var release = election.Api.Calls.ToList().FindLastIndex(call => call is { Candidate: "one", Verb: LeaseVerb.Replace, WrittenHolder: "" });
        Assert.True(release >= one.StoodDown!.Value.Calls, "released before lead stood down");
        Assert.Contains(one.Logger.Entries, entry => entry.EventId.Id == 5306);
    }

    [Fact]
    public async Task Cancellation_LandingMidLookOfAStandby_ReturnsWithoutThrowing_AndWritesNothing()
    {
        await using var election = new Election();
        election.Api.Put("other", durationSeconds: 60);
        var two = election.Start("two");
        await election.RunForAsync(Retry);
        two.Client.Hanging = true;
        await election.RunUntilAsync(() => election.Api.Pending == 1, TimeSpan.FromSeconds(1));

        two.Cancel();
        await Task.WhenAny(two.Run, Task.Delay(TimeSpan.FromSeconds(5)));

        Assert.Equal(TaskStatus.RanToCompletion, two.Run.Status);
        Assert.DoesNotContain(election.Api.Calls, call => call.Verb != LeaseVerb.Read);
        Assert.Equal("other", election.Api.Holder);
    }

    [Fact]
    public async Task Cancellation_WhileLeading_WaitsForLeadToStandDown_ThenReleases()
    {
        await using var election = new Election();
        string? holderWhileStandingDown = null;
        var one = election.Start("one", lead: async leadership =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, leadership);
            }
            catch (OperationCanceledException)
            {
                // Taking addresses down takes (virtual) time; nobody may be let in before it is done.
                await Task.Delay(TimeSpan.FromSeconds(1), election.Clock, CancellationToken.None);
                holderWhileStandingDown = election.Api.Holder;
            }
        });
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));
        var cancelledAt = election.Now;

        one.Cancel();
        await election.RunUntilAsync(() => one.Run.IsCompleted, TimeSpan.FromSeconds(2));

        Assert.Equal(TaskStatus.RanToCompletion, one.Run.Status);
        Assert.Equal("one", holderWhileStandingDown);
        Assert.Equal(TimeSpan.FromSeconds(1), one.StoodDown!.Value.At - cancelledAt);
        Assert.Equal(string.Empty, election.Api.Holder);
    }

    [Fact]
    public async Task Cancellation_WhenTheReleaseGetsNoAnswer_ReturnsAfterTheRenewDeadline_AndLeavesTheLeaseToExpire()
    {
        await using var election = new Election();
        var one = election.Start("one");
        await election.RunUntilAsync(() => one.Leading, TimeSpan.FromSeconds(1));
        one.Client.Hanging = true;
        await election.RunUntilAsync(() => election.Api.Pending == 1, TimeSpan.FromSeconds(1));
        var cancelledAt = election.Now;

        one.Cancel();
        await election.RunUntilAsync(() => one.Run.IsCompleted, 2 * Deadline);

        Assert.Equal(TaskStatus.RanToCompletion, one.Run.Status);
        Assert.InRange(election.Now - cancelledAt, Deadline, Deadline * 2);
        Assert.Equal("one", election.Api.Holder);
        Assert.Contains(one.Logger.Entries, entry => entry.EventId.Id == 5307 && entry.Message.Contains("timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LeadThatThrows_ReleasesTheLease_SoTheStandbyLeads_AndBacksOffForALeaseDuration()
    {
        await using var election = new Election();
        var one = election.Start("one", lead: _ => throw new InvalidOperationException("broken"));
        await election.RunUntilAsync(() => one.StoodDown is not null && election.Api.Holder == string.Empty, TimeSpan.FromSeconds(1));
        var two = election.Start("two");

        var took = await election.RunUntilAsync(() => two.Leading, TimeSpan.FromSeconds(1));
        await election.RunForAsync(2 * Duration, () => Assert.True(two.Leading));

        Assert.Equal(TimeSpan.Zero, took);
        Assert.Equal(1, one.Terms);
        Assert.Equal("two", election.Api.Holder);
        Assert.Contains(one.Logger.Entries, entry => entry.EventId.Id == 5309 && entry.Level == LogLevel.Error);
    }

    [Fact]
    public void Options_DefaultIdentity_IsTheHostName_SoItSurvivesARestart()
    {
        Assert.Equal(Environment.MachineName, new LeaderElectionOptions().Identity);
    }

    [Fact]
    public void Options_RefuseADurationThatDoesNotOutlastTheRenewDeadline()
    {
        var problems = new LeaderElectionOptions { LeaseDuration = TimeSpan.FromSeconds(1), RenewDeadline = TimeSpan.FromSeconds(1) }.Validate();

        Assert.Contains(problems, problem => problem.Contains("LeaseDuration", StringComparison.Ordinal) && problem.Contains("00:00:01", StringComparison.Ordinal));
    }

    private static void Break(ScriptedLeaseClient client, string failure)
    {
        if (failure == "no answer")
        {
            client.Hanging = true;
            return;
        }

        client.Failing = failure switch
        {
            "401" => LeaseAnswer.Status(401, "Unauthorized"),
            "403" => LeaseAnswer.Status(403, "Forbidden"),
            "404 on create" => LeaseAnswer.Status(404, "namespace kube-system not found"),
            "429" => LeaseAnswer.Status(429, "Too Many Requests"),
            "500" => LeaseAnswer.Status(500, "Internal Server Error"),
            "503" => LeaseAnswer.Status(503, "Service Unavailable"),
            "timeout" => LeaseAnswer.TimedOut("the HTTP client's timeout"),
            "refused" => LeaseAnswer.Unreachable("ConnectionError: Connection refused"),
            "reset" => LeaseAnswer.Unreachable("Connection reset by peer"),
            "malformed" => LeaseAnswer.Malformed("'<' is an invalid start of a value"),
            _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, null),
        };
    }

    private static void Heal(ScriptedLeaseClient client)
    {
        client.Failing = null;
        client.Hanging = false;
    }
}

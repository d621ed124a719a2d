using System.Diagnostics;
using System.Net;
using k8s;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Tests.FakeKubernetesApi;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Leadership;

/// <summary>Leader election against the fake API server's Leases, with real time and the real client.</summary>
public sealed class LeaseElectorTests : IAsyncLifetime
{
    private const string Namespace = "kube-system";
    private const string LeaseName = "llb";

    private FakeApiServer _api = null!;

    public async Task InitializeAsync() => _api = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task TwoCandidates_ExactlyOneLeads_AndTheLeaseNamesIt()
    {
        // Exclusivity, not timing: durations that a loaded test machine cannot blow.
        var relaxed = new LeaderElectionOptions { LeaseDuration = TimeSpan.FromSeconds(6), RenewDeadline = TimeSpan.FromSeconds(5) };
        await using var one = Candidate.Start(_api.CreateClient(), "one", options: relaxed);
        await one.Leading.WaitAsync(TimeSpan.FromSeconds(5));
        await using var two = Candidate.Start(_api.CreateClient(), "two", options: relaxed);

        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.True(one.Elector.IsLeader);
        Assert.False(two.Elector.IsLeader);
        Assert.False(two.Leading.IsCompleted);
        Assert.Equal("one", two.Elector.Leader);
        Assert.Equal("one", Lease()?.Spec.HolderIdentity);
    }

    [Fact]
    public async Task GracefulStop_ReleasesTheLease_AndTheStandbyLeadsAtOnce()
    {
        var one = Candidate.Start(_api.CreateClient(), "one");
        await one.Leading.WaitAsync(TimeSpan.FromSeconds(5));
        await using var two = Candidate.Start(_api.CreateClient(), "two");
        await Task.Delay(700);

        var stopped = Stopwatch.StartNew();
        await one.DisposeAsync();
        await two.Leading.WaitAsync(TimeSpan.FromSeconds(5));

        // Released: the standby needs one retry period, not the lease duration.
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(1.5), $"takeover took {stopped.Elapsed}");
        Assert.True(one.StoodDown);
        Assert.Equal("two", Lease()?.Spec.HolderIdentity);
        Assert.Equal(1, Lease()?.Spec.LeaseTransitions);
    }

    [Fact]
    public async Task LeaderCutOffAlone_TheStandbyTakesOverWithinThreeSeconds_AndTheOldLeaderStandsDownOnceItSeesThat()
    {
        var cut = new SwitchableHandler();
        await using var one = Candidate.Start(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.BaseAddress.ToString() }, cut), "one");
        await one.Leading.WaitAsync(TimeSpan.FromSeconds(5));
        await using var two = Candidate.Start(_api.CreateClient(), "two");
        await Task.Delay(700);

        var crashed = Stopwatch.StartNew();
        cut.Failing = true;
        await two.Leading.WaitAsync(TimeSpan.FromSeconds(5));
        var takeover = crashed.Elapsed;

        // Cut off, the old leader cannot know: it keeps its addresses until it can read the Lease again.
        Assert.True(takeover < TimeSpan.FromSeconds(3), $"takeover took {takeover}");
        Assert.False(one.LeadershipEnded.IsCompleted);
        Assert.Equal("two", Lease()?.Spec.HolderIdentity);

        var healed = Stopwatch.StartNew();
        cut.Failing = false;
        await one.LeadershipEnded.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(healed.Elapsed < TimeSpan.FromSeconds(1.5), $"the old leader stood down {healed.Elapsed} after it could read again");
        Assert.Equal("two", Lease()?.Spec.HolderIdentity);
        Assert.True(two.Elector.IsLeader);
    }

    [Fact]
    public async Task ApiServerDownForEveryone_TheLeaderKeepsLeading_AndStillHoldsTheLeaseAfterwards()
    {
        await using var one = Candidate.Start(_api.CreateClient(), "one");
        await one.Leading.WaitAsync(TimeSpan.FromSeconds(5));
        await using var two = Candidate.Start(_api.CreateClient(), "two");
        await Task.Delay(700);

        _api.Unavailable = true;
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(one.LeadershipEnded.IsCompleted);
        Assert.True(one.Elector.IsLeader);
        _api.Unavailable = false;
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.False(one.LeadershipEnded.IsCompleted);
        Assert.False(two.Leading.IsCompleted);
        Assert.Equal("one", Lease()?.Spec.HolderIdentity);
    }

    [Fact]
    public async Task ExpiredLeaseOfAGoneHolder_IsTakenOverAfterItsDuration()
    {
        _api.PutLease(new V1Lease
        {
            ApiVersion = "coordination.k8s.io/v1",
            Kind = "Lease",
            Metadata = new V1ObjectMeta { Name = LeaseName, NamespaceProperty = Namespace },
            Spec = new V1LeaseSpec { HolderIdentity = "crashed", LeaseDurationSeconds = 2, RenewTime = DateTime.UtcNow, AcquireTime = DateTime.UtcNow, LeaseTransitions = 4 },
        });

        var waited = Stopwatch.StartNew();
        await using var one = Candidate.Start(_api.CreateClient(), "one");
        await one.Leading.WaitAsync(TimeSpan.FromSeconds(6));

        // Not before the holder's 2 s have run out; the upper bound only says it did not wait for something else.
        Assert.InRange(waited.Elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(5));
        Assert.Equal("one", Lease()?.Spec.HolderIdentity);
        Assert.Equal(5, Lease()?.Spec.LeaseTransitions);
    }

    [Fact]
    public async Task LeadThatThrows_ReleasesTheLeaseSoAnotherReplicaCanLead()
    {
        await using var one = Candidate.Start(_api.CreateClient(), "one", lead: _ => throw new InvalidOperationException("broken"));
        await using var two = Candidate.Start(_api.CreateClient(), "two");

        await two.Leading.WaitAsync(TimeSpan.FromSeconds(6));

        Assert.Equal("two", Lease()?.Spec.HolderIdentity);
    }

    [Fact]
    public async Task Leader_RenewsWithOneWritePerRetryPeriod_AndNoReads()
    {
        await using var one = Candidate.Start(_api.CreateClient(), "one");
        await one.Leading.WaitAsync(TimeSpan.FromSeconds(5));
        var from = DateTimeOffset.UtcNow;

        await Task.Delay(TimeSpan.FromSeconds(2));

        // About eight renewals in 2 s, each one PUT. A renewal that times out on a loaded machine after the server
        // applied it makes the next PUT conflict and read once, so one read is allowed, not one per renewal.
        var requests = _api.Requests.Where(request => request.At > from && request.Path.Contains("/leases", StringComparison.Ordinal)).ToList();
        Assert.InRange(requests.Count(request => request.Method == "PUT"), 3, 10);
        Assert.InRange(requests.Count(request => request.Method == "GET"), 0, 1);
        Assert.True(one.Elector.IsLeader);
    }

    [Fact]
    public void Options_RefuseADurationThatDoesNotOutlastTheRenewDeadline()
    {
        var problems = new LeaderElectionOptions { LeaseDuration = TimeSpan.FromSeconds(1), RenewDeadline = TimeSpan.FromSeconds(1) }.Validate();

        Assert.Contains(problems, problem => problem.Contains("LeaseDuration", StringComparison.Ordinal) && problem.Contains("00:00:01", StringComparison.Ordinal));
    }

    private V1Lease? Lease() => _api.GetLease(Namespace, LeaseName);

    /// <summary>An elector running in the background; its lead waits for the leadership token and records the stand-down.</summary>
    private sealed class Candidate : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _leading = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _run;

        private Candidate(IKubernetes client, string identity, Func<CancellationToken, Task>? lead, LeaderElectionOptions? options)
        {
            Elector = new LeaseElector(client, (options ?? new LeaderElectionOptions()) with { Namespace = Namespace, Name = LeaseName, Identity = identity },
                TimeProvider.System, NullLogger<LeaseElector>.Instance);
            _run = Task.Run(() => Elector.RunAsync(lead ?? LeadAsync, _stop.Token));
        }

        public LeaseElector Elector { get; }

        public Task Leading => _leading.Task;

        public Task LeadershipEnded => _ended.Task;

        public bool StoodDown => _ended.Task.IsCompleted;

        public static Candidate Start(IKubernetes client, string identity, Func<CancellationToken, Task>? lead = null, LeaderElectionOptions? options = null) =>
            new(client, identity, lead, options);

        private async Task LeadAsync(CancellationToken leadership)
        {
            _leading.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, leadership);
            }
            finally
            {
                _ended.TrySetResult();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
            _stop.Dispose();
        }
    }

    /// <summary>Cuts one client off from the API server, as a crashed or partitioned leader is.</summary>
    private sealed class SwitchableHandler : DelegatingHandler
    {
        public volatile bool Failing;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Failing
                ? throw new HttpRequestException("cut off from the API server (test)", null, HttpStatusCode.ServiceUnavailable)
                : base.SendAsync(request, cancellationToken);
    }
}

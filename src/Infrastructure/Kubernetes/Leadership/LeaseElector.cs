using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Leadership;

/// <summary>
/// Leader election on a coordination.k8s.io Lease. Ours rather than the client's <c>LeaderElector</c> because that one
/// does not release the Lease on shutdown (a standby would wait out the whole duration), stands down whenever it
/// cannot renew in time, and reads the wall clock, which tests cannot drive.
/// </summary>
/// <remarks>
/// <para>
/// A standby takes the Lease over when it has seen no change to it for the holder's lease duration: time is measured
/// on this replica's own clock from when it observed the change, so clock skew between nodes does not matter.
/// </para>
/// <para>
/// The leader stands down only when a read of the Lease (an answer with the Lease in it) names another replica. Every
/// other answer proves nothing about who holds it: a 401 or 403 from an API server still warming up after a restart,
/// 429, 5xx, a timeout, a refused connection. Through those it keeps leading and keeps renewing (fail-static): an
/// outage of the API server must not take every address down, and no standby can take over through a server that
/// does not answer it either. The price is a partition that cuts off the leader alone: a standby takes over and both
/// hold the addresses until the old leader reads the Lease again, at its next look.
/// </para>
/// </remarks>
internal sealed partial class LeaseElector : LoadBalancer.Application.Abstractions.ILeadership
{
    /// <summary>Past the holder's duration when a standby wakes to take over, so that its own look sees the Lease expired.</summary>
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromMilliseconds(5);

    private readonly ILeaseClient _leases;
    private readonly LeaderElectionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LeaseElector> _logger;
    private readonly UnusableAnswerRun _unusable = new();

    private LeaseRecord? _observed;
    private long _observedAt;
    private TimeSpan _holderDuration;

    /// <summary>Set when a look got no usable answer: the next answer restarts the holder's duration.</summary>
    private bool _blind;

    /// <summary>The Lease as this replica last wrote it while holding it: renewing needs no read first.</summary>
    private V1Lease? _written;
    private volatile string? _leader;
    private volatile bool _leading;

    public LeaseElector(IKubernetes client, LeaderElectionOptions options, TimeProvider time, ILogger<LeaseElector> logger)
        : this(LeaseClient(client, options), options, time, logger)
    {
    }

    internal LeaseElector(ILeaseClient leases, LeaderElectionOptions options, TimeProvider time, ILogger<LeaseElector> logger)
    {
        ArgumentNullException.ThrowIfNull(leases);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _leases = leases;
        _options = options;
        _time = time;
        _logger = logger;
    }

    private static KubernetesLeaseClient LeaseClient(IKubernetes client, LeaderElectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        return new KubernetesLeaseClient(client, options.Namespace, options.Name);
    }

    /// <summary>The holder this replica last saw in the Lease; null before the first look or when nobody holds it.</summary>
    public string? Leader => _leader;

    public bool IsLeader => _leading;

    public string Identity => _options.Identity;

    /// <summary>
    /// Campaigns until <paramref name="cancellationToken"/> is cancelled, then returns (it never throws for that).
    /// Each time this replica wins, <paramref name="lead"/> runs with a token that is cancelled when leadership ends; it
    /// must then stand down before it returns. On cancellation the Lease is released after <paramref name="lead"/> has
    /// returned, so a standby takes over at once.
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lead);
        try
        {
            while (await AcquireAsync(cancellationToken).ConfigureAwait(false))
            {
                var end = await LeadOneTermAsync(lead, cancellationToken).ConfigureAwait(false);
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                if (end is TermEnd.Failed or TermEnd.Returned)
                {
                    // The Lease is released: give the others a whole lease duration to take over before campaigning again.
                    await Task.Delay(_options.LeaseDuration, _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancellation is a stop, not a failure, wherever it lands: in a look, in a wait. A term handles its own.
        }
    }

    /// <returns>True once this replica holds the Lease; false when cancelled before.</returns>
    private async Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (await LookAsync(leading: false, cancellationToken).ConfigureAwait(false) == Look.Held)
            {
                return true;
            }

            await Task.Delay(NextLook(), _time, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>One term: runs <paramref name="lead"/> and renews until either ends, waits for lead to stand down, then releases the Lease unless it was lost.</summary>
    private async Task<TermEnd> LeadOneTermAsync(Func<CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        using var leadership = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _leading = true;
        LogStartedLeading(Identity, _options.Namespace, _options.Name);
        var leading = LeadAsync(lead, leadership.Token);
        var renewing = RenewUntilLostAsync(leadership.Token);
        await Task.WhenAny(leading, renewing).ConfigureAwait(false);
        _leading = false;
        await leadership.CancelAsync().ConfigureAwait(false);

        // Lead first: it must have stood down (addresses gone) before another replica can be let in by a release.
        var end = await leading.ConfigureAwait(false);
        var lost = await renewing.ConfigureAwait(false);
        LogStoppedLeading(Identity);
        if (lost)
        {
            return TermEnd.Lost;
        }

        await ReleaseAsync().ConfigureAwait(false);
        return end;
    }

    private async Task<TermEnd> LeadAsync(Func<CancellationToken, Task> lead, CancellationToken leadership)
    {
        try
        {
            await lead(leadership).ConfigureAwait(false);
            if (leadership.IsCancellationRequested)
            {
                return TermEnd.StoodDown;
            }

            LogLeadReturned(Identity);
            return TermEnd.Returned;
        }
        catch (OperationCanceledException) when (leadership.IsCancellationRequested)
        {
            return TermEnd.StoodDown;
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            // Leading failed: let another replica try rather than hold a Lease that does no work.
            LogLeadFailed(failure);
            return TermEnd.Failed;
        }
    }

    /// <summary>
    /// Renews every retry period until a read shows another holder (true) or leadership ends otherwise (false).
    /// Answers that say nothing about the holder change nothing: the leader keeps its addresses and tries again.
    /// </summary>
    private async Task<bool> RenewUntilLostAsync(CancellationToken leadership)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.RetryPeriod, _time, leadership).ConfigureAwait(false);
                if (await LookAsync(leading: true, leadership).ConfigureAwait(false) == Look.HeldByAnother)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (leadership.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// When a standby looks again: after a retry period (with a little jitter, so that standbys started together do not
    /// race), or exactly when the holder's Lease runs out if that is sooner, so a crashed leader is not replaced a whole
    /// period late.
    /// </summary>
    private TimeSpan NextLook()
    {
        var next = _options.RetryPeriod + (_options.RetryPeriod * (Random.Shared.NextDouble() * 0.2));
        if (_leader is not null && _leader != Identity && !_blind)
        {
            var untilExpiry = _holderDuration - _time.GetElapsedTime(_observedAt) + ExpiryMargin;
            if (untilExpiry > TimeSpan.Zero && untilExpiry < next)
            {
                next = untilExpiry;
            }
        }

        return next;
    }

    /// <summary>One look at the Lease, all of its requests within the renew deadline.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="stop"/> was cancelled.</exception>
    private async Task<Look> LookAsync(bool leading, CancellationToken stop)
    {
        using var deadline = new CancellationTokenSource(_options.RenewDeadline, _time);
        using var look = CancellationTokenSource.CreateLinkedTokenSource(stop, deadline.Token);
        var request = new Request(leading, look.Token, stop);

        if (leading && _written is { Spec: { } held } written)
        {
            // Renewing what we wrote last, with its resourceVersion: one request instead of a read and a write.
            var now = _time.GetUtcNow().UtcDateTime;
            written.Spec = Holding(held.AcquireTime ?? now, now, held.LeaseTransitions ?? 0);
            var renewed = await AskAsync("renewal", token => _leases.ReplaceAsync(written, token), request).ConfigureAwait(false);
            switch (renewed.Kind)
            {
                case LeaseAnswerKind.Lease:
                    return Wrote(renewed.Lease!);
                case LeaseAnswerKind.NotFound:
                    LogLeaseDeleted(_options.Namespace, _options.Name, Identity);
                    return await CreateAsync(request).ConfigureAwait(false);
                case LeaseAnswerKind.Conflict:
                    // Someone wrote the Lease since (a takeover, or our own renewal that timed out after it was applied).
                    LogRenewalConflicted(Identity);
                    _written = null;
                    break;
                default:
                    return Look.Unusable;
            }
        }

        var read = await AskAsync("read", _leases.ReadAsync, request).ConfigureAwait(false);
        switch (read.Kind)
        {
            case LeaseAnswerKind.Lease:
                return await DecideAsync(read.Lease!, request).ConfigureAwait(false);
            case LeaseAnswerKind.NotFound:
                if (leading)
                {
                    LogLeaseDeleted(_options.Namespace, _options.Name, Identity);
                }

                return await CreateAsync(request).ConfigureAwait(false);
            default:
                return Look.Unusable;
        }
    }

    /// <summary>What a read of the Lease means for this replica, and the write that follows if it may hold it.</summary>
    private async Task<Look> DecideAsync(V1Lease lease, Request request)
    {
        var spec = lease.Spec ?? new V1LeaseSpec();
        Observe(lease);
        _holderDuration = HolderDuration(spec);
        var holder = spec.HolderIdentity;
        var mine = holder == Identity;
        if (!string.IsNullOrEmpty(holder) && !mine)
        {
            // The one answer that ends a term: the API server itself says another replica holds the Lease.
            if (request.Leading)
            {
                LogLostLease(Identity, holder);
                return Look.HeldByAnother;
            }

            if (_time.GetElapsedTime(_observedAt) < _holderDuration)
            {
                return Look.HeldByAnother;
            }

            LogTakingOver(Identity, holder + " (expired)");
        }
        else if (!mine)
        {
            LogTakingOver(Identity, "nobody (released)");
        }
        else if (!request.Leading)
        {
            // Our own name from before a restart: nobody else can hold it, so waiting out the duration would only cost time.
            LogResuming(Identity);
        }

        var now = _time.GetUtcNow().UtcDateTime;
        lease.Spec = mine
            ? Holding(spec.AcquireTime ?? now, now, spec.LeaseTransitions ?? 0)
            : Holding(now, now, (spec.LeaseTransitions ?? 0) + 1);
        var replaced = await AskAsync("write", token => _leases.ReplaceAsync(lease, token), request).ConfigureAwait(false);
        return replaced.Kind switch
        {
            LeaseAnswerKind.Lease => Wrote(replaced.Lease!),

            // Someone wrote it between our read and write, or deleted it: the next look reads (or creates) again.
            LeaseAnswerKind.Conflict or LeaseAnswerKind.NotFound => Look.Contended,
            _ => Look.Unusable,
        };
    }

    private async Task<Look> CreateAsync(Request request)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var lease = new V1Lease
        {
            ApiVersion = "coordination.k8s.io/v1",
            Kind = "Lease",
            Metadata = new V1ObjectMeta { Name = _options.Name, NamespaceProperty = _options.Namespace },
            Spec = Holding(now, now, transitions: 0),
        };
        var created = await AskAsync("create", token => _leases.CreateAsync(lease, token), request).ConfigureAwait(false);
        return created.Kind switch
        {
            LeaseAnswerKind.Lease => Wrote(created.Lease!),

            // Another replica created it first: the next look reads who holds it.
            LeaseAnswerKind.Conflict => Look.Contended,
            _ => Look.Unusable,
        };
    }

    /// <summary>One request; a deadline that passes is a timeout, cancellation of the caller propagates.</summary>
    private async Task<LeaseAnswer> AskAsync(string what, Func<CancellationToken, Task<LeaseAnswer>> call, Request request)
    {
        LeaseAnswer answer;
        try
        {
            answer = await call(request.Look).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!request.Stop.IsCancellationRequested)
        {
            answer = LeaseAnswer.TimedOut($"no answer within {_options.RenewDeadline.TotalMilliseconds} ms");
        }

        Heard(what, answer, request.Leading);
        return answer;
    }

    /// <summary>Logs an unusable answer when it starts a run or changes the failure, and the end of the run; the rest at Debug.</summary>
    private void Heard(string what, LeaseAnswer answer, bool leading)
    {
        if (answer.IsUsable)
        {
            if (_unusable.Looks > 0)
            {
                var looks = _unusable.End();
                LogAnswersAgain(Identity, leading ? "leader" : "standby", looks);
            }

            return;
        }

        _blind = true;
        switch (answer.Kind)
        {
            case LeaseAnswerKind.Status:
                LogLeaseRequestRefused(what, answer.StatusCode ?? 0, answer.Detail);
                break;
            case LeaseAnswerKind.TimedOut:
                LogLeaseTimedOut(what, answer.Detail);
                break;
            default:
                LogLeaseRequestFailed(what, answer);
                break;
        }

        switch (_unusable.Add(answer))
        {
            case RunStep.Started when leading:
                LogLeaderKeepsLeading(Identity, what, answer, _options.RetryPeriod.TotalMilliseconds);
                break;
            case RunStep.Started:
                LogStandbyCannotLook(Identity, what, answer);
                break;
            case RunStep.Changed:
                LogUnusableAnswerChanged(Identity, what, answer, _unusable.PreviousFailure!, _unusable.Looks);
                break;
        }
    }

    private Look Wrote(V1Lease lease)
    {
        Observe(lease);
        var mine = lease.Spec?.HolderIdentity == Identity;
        _written = mine ? lease : null;
        return mine ? Look.Held : Look.Contended;
    }

    private void Observe(V1Lease lease)
    {
        var record = new LeaseRecord(lease.Spec?.HolderIdentity, lease.Spec?.RenewTime, lease.Metadata?.ResourceVersion);

        // After looks that went unanswered, an unchanged Lease proves nothing about the holder: it may have renewed
        // through the outage as little as we could read. Its duration starts again from now, so an outage of the API
        // server does not hand the Lease to whichever replica reads it first afterwards.
        if (record != _observed || _blind)
        {
            _observed = record;
            _observedAt = _time.GetTimestamp();
            _blind = false;
        }

        var holder = string.IsNullOrEmpty(record.Holder) ? null : record.Holder;
        if (holder != _leader)
        {
            _leader = holder;
            LogNewLeader(holder ?? "(nobody)");
        }
    }

    private TimeSpan HolderDuration(V1LeaseSpec spec) =>
        spec.LeaseDurationSeconds is { } seconds and > 0 ? TimeSpan.FromSeconds(seconds) : _options.LeaseDuration;

    private V1LeaseSpec Holding(DateTime acquired, DateTime renewed, int transitions) => new()
    {
        HolderIdentity = Identity,
        LeaseDurationSeconds = (int)Math.Ceiling(_options.LeaseDuration.TotalSeconds),
        AcquireTime = acquired,
        RenewTime = renewed,
        LeaseTransitions = transitions,
    };

    /// <summary>
    /// Gives the Lease up so a standby need not wait for it to expire. Best effort and bounded by the renew deadline
    /// (the caller's token is usually cancelled already): on failure the Lease expires on its own.
    /// </summary>
    private async Task ReleaseAsync()
    {
        using var deadline = new CancellationTokenSource(_options.RenewDeadline, _time);

        // Two rounds: a renewal that timed out after the server applied it makes the first write conflict.
        for (var round = 0; round < 2; round++)
        {
            var read = await ReleaseRequestAsync(_leases.ReadAsync, deadline.Token).ConfigureAwait(false);
            if (read.Kind == LeaseAnswerKind.NotFound)
            {
                return;
            }

            if (read.Kind != LeaseAnswerKind.Lease)
            {
                LogReleaseFailed(read);
                return;
            }

            var lease = read.Lease!;
            if (lease.Spec?.HolderIdentity != Identity)
            {
                return;
            }

            // An empty holder (not a missing one) is what standbys read as "released".
            lease.Spec.HolderIdentity = string.Empty;
            lease.Spec.LeaseDurationSeconds = 1;
            lease.Spec.RenewTime = _time.GetUtcNow().UtcDateTime;
            var written = await ReleaseRequestAsync(token => _leases.ReplaceAsync(lease, token), deadline.Token).ConfigureAwait(false);
            if (written.Kind == LeaseAnswerKind.Lease)
            {
                _written = null;
                Observe(written.Lease!);
                LogReleased(Identity, _options.Namespace, _options.Name);
                return;
            }

            if (written.Kind != LeaseAnswerKind.Conflict)
            {
                LogReleaseFailed(written);
                return;
            }
        }

        LogReleaseFailed(LeaseAnswer.Conflict);
    }

    private async Task<LeaseAnswer> ReleaseRequestAsync(Func<CancellationToken, Task<LeaseAnswer>> call, CancellationToken deadline)
    {
        try
        {
            return await call(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return LeaseAnswer.TimedOut($"no answer within {_options.RenewDeadline.TotalMilliseconds} ms");
        }
    }

    /// <summary>What a look needs to know: who asks, the look's deadline, and the caller's stop.</summary>
    private readonly record struct Request(bool Leading, CancellationToken Look, CancellationToken Stop);

    private sealed record LeaseRecord(string? Holder, DateTime? RenewTime, string? ResourceVersion);

    private enum Look
    {
        /// <summary>This replica holds the Lease now.</summary>
        Held,

        /// <summary>A read showed another replica holding it (for a standby: and not expired).</summary>
        HeldByAnother,

        /// <summary>A write lost a race; who holds the Lease is read at the next look.</summary>
        Contended,

        /// <summary>No usable answer; nothing is known about the holder.</summary>
        Unusable,
    }

    private enum TermEnd
    {
        /// <summary>Leadership was cancelled (lost, or stopping) and lead stood down.</summary>
        StoodDown,

        /// <summary>A read showed another holder.</summary>
        Lost,

        /// <summary>Lead returned by itself while still leader.</summary>
        Returned,

        /// <summary>Lead threw.</summary>
        Failed,
    }
}

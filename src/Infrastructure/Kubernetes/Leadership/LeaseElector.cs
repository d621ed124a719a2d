using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Leadership;

/// <summary>
/// Leader election on a coordination.k8s.io Lease. Ours rather than the client's <c>LeaderElector</c> because that one
/// does not release the Lease on shutdown (a standby would wait out the whole duration) and reads the wall clock, which
/// tests cannot drive.
/// </summary>
/// <remarks>
/// A standby takes the Lease over when it has seen no change to it for the holder's lease duration: time is measured
/// on this replica's own clock from when it observed the change, so clock skew between nodes does not matter. The
/// leader stands down as soon as it sees the Lease held by another replica (or is refused it). While the API server
/// does not answer it keeps leading: an outage of the API server (a restart, an upgrade of a one-node control plane)
/// must not take every address down, and no standby can take over through a server that does not answer. The price
/// is a partition that cuts off the leader alone: a standby takes over and both hold the addresses until the old
/// leader reaches the API server again, at its next look.
/// </remarks>
internal sealed partial class LeaseElector(IKubernetes client, LeaderElectionOptions options, TimeProvider time, ILogger<LeaseElector> logger)
    : LoadBalancer.Application.Abstractions.ILeadership
{
    /// <summary>Past the holder's duration when a standby wakes to take over, so that its own look sees the Lease expired.</summary>
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromMilliseconds(5);

    private LeaseRecord? _observed;
    private long _observedAt;
    private TimeSpan _holderDuration;

    /// <summary>Set when a look went unanswered: the next answer restarts the holder's duration.</summary>
    private bool _blind;

    /// <summary>The Lease as this replica last wrote it while holding it: renewing needs no read first.</summary>
    private V1Lease? _written;
    private volatile string? _leader;
    private volatile bool _leading;

    /// <summary>The holder this replica last saw in the Lease; null before the first look or when nobody holds it.</summary>
    public string? Leader => _leader;

    public bool IsLeader => _leading;

    public string Identity => options.Identity;

    /// <summary>
    /// Campaigns until <paramref name="cancellationToken"/> is cancelled. Each time this replica wins, <paramref name="lead"/>
    /// runs with a token that is cancelled when leadership ends; it must then stand down before it returns. On
    /// cancellation the Lease is released after <paramref name="lead"/> has returned, so a standby takes over at once.
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lead);
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await AcquireAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            using var leadership = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _leading = true;
            LogStartedLeading(options.Identity, options.Namespace, options.Name);
            var leading = LeadAsync(lead, leadership.Token);
            await Task.WhenAny(leading, RenewUntilLostAsync(leadership.Token)).ConfigureAwait(false);
            _leading = false;
            await leadership.CancelAsync().ConfigureAwait(false);
            var failed = await leading.ConfigureAwait(false);
            LogStoppedLeading(options.Identity);

            if (cancellationToken.IsCancellationRequested)
            {
                await ReleaseAsync().ConfigureAwait(false);
                return;
            }

            if (failed)
            {
                // Give the others a whole lease duration to take over before this replica campaigns again.
                try
                {
                    await Task.Delay(options.LeaseDuration, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <returns>True when leading failed (threw).</returns>
    private async Task<bool> LeadAsync(Func<CancellationToken, Task> lead, CancellationToken leadership)
    {
        try
        {
            await lead(leadership).ConfigureAwait(false);
            return false;
        }
        catch (OperationCanceledException) when (leadership.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            // Leading failed: let another replica try rather than hold a Lease that does no work.
            LogLeadFailed(failure);
            await ReleaseAsync().ConfigureAwait(false);
            return true;
        }
    }

    /// <returns>False when cancelled before winning.</returns>
    private async Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (await TryAcquireOrRenewAsync(options.RenewDeadline, cancellationToken).ConfigureAwait(false) == LeaseAttempt.Held)
            {
                return true;
            }

            try
            {
                await Task.Delay(NextLook(), time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// When a standby looks again: after a retry period (with a little jitter, so that standbys started together do not
    /// race), or exactly when the holder's Lease runs out if that is sooner, so a crashed leader is not replaced a whole
    /// period late.
    /// </summary>
    private TimeSpan NextLook()
    {
        var next = options.RetryPeriod + (options.RetryPeriod * (Random.Shared.NextDouble() * 0.2));
        if (_leader is not null && _leader != options.Identity)
        {
            var untilExpiry = _holderDuration - time.GetElapsedTime(_observedAt) + ExpiryMargin;
            if (untilExpiry > TimeSpan.Zero && untilExpiry < next)
            {
                next = untilExpiry;
            }
        }

        return next;
    }

    /// <summary>
    /// Renews every retry period; returns when the Lease is seen held by another replica (or the API server refuses
    /// this one), or on cancellation. An API server that does not answer is not a lost Lease: no standby can take over
    /// through it either, so the addresses stay and keep forwarding (fail-static) until the Lease is seen again.
    /// </summary>
    private async Task RenewUntilLostAsync(CancellationToken leadership)
    {
        var unanswered = false;
        while (!leadership.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.RetryPeriod, time, leadership).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            switch (await TryAcquireOrRenewAsync(options.RenewDeadline, leadership).ConfigureAwait(false))
            {
                case LeaseAttempt.Held:
                    if (unanswered)
                    {
                        unanswered = false;
                        LogApiAnswersAgain(options.Identity);
                    }

                    break;
                case LeaseAttempt.Unanswered:
                    if (!unanswered && !leadership.IsCancellationRequested)
                    {
                        unanswered = true;
                        LogKeepingThroughOutage(options.Identity);
                    }

                    break;
                case LeaseAttempt.Contended:
                    // Someone wrote the Lease between our read and write; the next look reads who holds it.
                    break;
                default:
                    if (!leadership.IsCancellationRequested)
                    {
                        LogLostLease(options.Identity, _leader ?? "(nobody)");
                        return;
                    }

                    break;
            }
        }
    }

    private async Task<LeaseAttempt> TryAcquireOrRenewAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        try
        {
            return await TryAcquireOrRenewAsync(attempt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogLeaseTimedOut(timeout.TotalMilliseconds);
            _blind = true;
            return LeaseAttempt.Unanswered;
        }
        catch (HttpOperationException failure)
        {
            var status = (int)failure.Response.StatusCode;
            LogLeaseRequestRefused(status, failure.Response.ReasonPhrase);

            // Overloaded or failing (5xx, 429) is an API server that cannot answer; anything else (403: the rights were
            // taken away) is an answer, and this replica may not hold the Lease.
            if (status >= 500 || status == 429)
            {
                _blind = true;
                return LeaseAttempt.Unanswered;
            }

            return LeaseAttempt.Refused;
        }
        catch (HttpRequestException failure)
        {
            LogLeaseRequestFailed(failure.Message);
            _blind = true;
            return LeaseAttempt.Unanswered;
        }
    }

    private async Task<LeaseAttempt> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        var leases = client.CoordinationV1;
        var now = time.GetUtcNow().UtcDateTime;
        if (_written is { Spec: { } held } written && held.HolderIdentity == options.Identity)
        {
            // Renewing what we wrote last, with its resourceVersion: one request instead of a read and a write. A
            // conflict means someone else wrote the Lease since; then read it like a candidate does.
            written.Spec = Holding(held.AcquireTime ?? now, now, held.LeaseTransitions ?? 0);
            if (await WriteAsync(() => leases.ReplaceNamespacedLeaseAsync(written, options.Name, options.Namespace, cancellationToken: cancellationToken))
                .ConfigureAwait(false) == LeaseAttempt.Held)
            {
                return LeaseAttempt.Held;
            }
        }

        V1Lease? lease;
        try
        {
            lease = await leases.ReadNamespacedLeaseAsync(options.Name, options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException failure) when (failure.Response.StatusCode == HttpStatusCode.NotFound)
        {
            lease = null;
        }

        if (lease is null)
        {
            var created = new V1Lease
            {
                ApiVersion = "coordination.k8s.io/v1",
                Kind = "Lease",
                Metadata = new V1ObjectMeta { Name = options.Name, NamespaceProperty = options.Namespace },
                Spec = Holding(now, now, transitions: 0),
            };
            return await WriteAsync(() => leases.CreateNamespacedLeaseAsync(created, options.Namespace, cancellationToken: cancellationToken))
                .ConfigureAwait(false);
        }

        var spec = lease.Spec ?? new V1LeaseSpec();
        Observe(new LeaseRecord(spec.HolderIdentity, spec.RenewTime, lease.Metadata?.ResourceVersion));
        _holderDuration = HolderDuration(spec);
        var holder = spec.HolderIdentity;
        var mine = holder == options.Identity;
        if (!string.IsNullOrEmpty(holder) && !mine && time.GetElapsedTime(_observedAt) < _holderDuration)
        {
            return LeaseAttempt.HeldByAnother;
        }

        if (!mine)
        {
            LogTakingOver(options.Identity, string.IsNullOrEmpty(holder) ? "nobody (released)" : holder + " (expired)");
        }

        lease.Spec = mine
            ? Holding(spec.AcquireTime ?? now, now, spec.LeaseTransitions ?? 0)
            : Holding(now, now, (spec.LeaseTransitions ?? 0) + 1);
        return await WriteAsync(() => leases.ReplaceNamespacedLeaseAsync(lease, options.Name, options.Namespace, cancellationToken: cancellationToken))
            .ConfigureAwait(false);
    }

    /// <summary>Writes the Lease; a conflict (someone else wrote first, or it exists already) is a lost race, not an error.</summary>
    private async Task<LeaseAttempt> WriteAsync(Func<Task<V1Lease>> write)
    {
        try
        {
            var written = await write().ConfigureAwait(false);
            Observe(new LeaseRecord(written.Spec?.HolderIdentity, written.Spec?.RenewTime, written.Metadata?.ResourceVersion));
            var mine = written.Spec?.HolderIdentity == options.Identity;
            _written = mine ? written : null;
            return mine ? LeaseAttempt.Held : LeaseAttempt.HeldByAnother;
        }
        catch (HttpOperationException failure) when (failure.Response.StatusCode is HttpStatusCode.Conflict)
        {
            _written = null;
            return LeaseAttempt.Contended;
        }
    }

    private void Observe(LeaseRecord record)
    {
        // After looks that went unanswered, an unchanged Lease proves nothing about the holder: it may have renewed
        // through the outage as little as we could read. Its duration starts again from now, so an outage of the API
        // server does not hand the Lease to whichever replica reads it first afterwards.
        if (record != _observed || _blind)
        {
            _observed = record;
            _observedAt = time.GetTimestamp();
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
        spec.LeaseDurationSeconds is { } seconds and > 0 ? TimeSpan.FromSeconds(seconds) : options.LeaseDuration;

    private V1LeaseSpec Holding(DateTime acquired, DateTime renewed, int transitions) => new()
    {
        HolderIdentity = options.Identity,
        LeaseDurationSeconds = (int)Math.Ceiling(options.LeaseDuration.TotalSeconds),
        AcquireTime = acquired,
        RenewTime = renewed,
        LeaseTransitions = transitions,
    };

    /// <summary>Gives the Lease up so a standby need not wait for it to expire. Best effort: on failure it expires.</summary>
    private async Task ReleaseAsync()
    {
        using var timeout = new CancellationTokenSource(options.RenewDeadline);
        try
        {
            var lease = await client.CoordinationV1.ReadNamespacedLeaseAsync(options.Name, options.Namespace, cancellationToken: timeout.Token)
                .ConfigureAwait(false);
            if (lease.Spec?.HolderIdentity != options.Identity)
            {
                return;
            }

            // An empty holder (not a missing one) is what standbys read as "released".
            lease.Spec.HolderIdentity = string.Empty;
            lease.Spec.LeaseDurationSeconds = 1;
            lease.Spec.RenewTime = time.GetUtcNow().UtcDateTime;
            await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, options.Name, options.Namespace, cancellationToken: timeout.Token)
                .ConfigureAwait(false);
            _leader = null;
            _written = null;
            LogReleased(options.Identity, options.Namespace, options.Name);
        }
        catch (Exception failure) when (failure is HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            LogReleaseFailed(failure.Message);
        }
    }

    private sealed record LeaseRecord(string? Holder, DateTime? RenewTime, string? ResourceVersion);

    private enum LeaseAttempt
    {
        /// <summary>This replica holds the Lease now.</summary>
        Held,

        /// <summary>Another replica holds it, and it has not expired.</summary>
        HeldByAnother,

        /// <summary>A write lost a race; who holds the Lease is read at the next look.</summary>
        Contended,

        /// <summary>No answer, or the API server is failing (timeout, connection refused, 5xx, 429).</summary>
        Unanswered,

        /// <summary>The API server answered no (e.g. 403).</summary>
        Refused,
    }

    [LoggerMessage(EventId = 5301, Level = LogLevel.Information, Message = "{Identity} is now the leader (Lease {Namespace}/{Name}): this replica owns the addresses")]
    private partial void LogStartedLeading(string identity, string @namespace, string name);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "{Identity} stopped leading")]
    private partial void LogStoppedLeading(string identity);

    [LoggerMessage(EventId = 5303, Level = LogLevel.Warning, Message = "{Identity} lost the Lease (held by {Holder}) and stands down")]
    private partial void LogLostLease(string identity, string holder);

    [LoggerMessage(EventId = 5312, Level = LogLevel.Warning,
        Message = "{Identity} cannot reach the API server to renew the Lease; keeping the addresses and forwarding until it answers again")]
    private partial void LogKeepingThroughOutage(string identity);

    [LoggerMessage(EventId = 5313, Level = LogLevel.Information, Message = "{Identity} renewed the Lease again after an outage")]
    private partial void LogApiAnswersAgain(string identity);

    [LoggerMessage(EventId = 5304, Level = LogLevel.Information, Message = "The leader is now {Leader}")]
    private partial void LogNewLeader(string leader);

    [LoggerMessage(EventId = 5305, Level = LogLevel.Information, Message = "{Identity} takes the Lease over from {Previous}")]
    private partial void LogTakingOver(string identity, string previous);

    [LoggerMessage(EventId = 5306, Level = LogLevel.Information, Message = "{Identity} released the Lease {Namespace}/{Name}")]
    private partial void LogReleased(string identity, string @namespace, string name);

    [LoggerMessage(EventId = 5307, Level = LogLevel.Warning, Message = "Could not release the Lease; it expires on its own: {Reason}")]
    private partial void LogReleaseFailed(string reason);

    [LoggerMessage(EventId = 5308, Level = LogLevel.Debug, Message = "Lease request failed: {Reason}")]
    private partial void LogLeaseRequestFailed(string reason);

    [LoggerMessage(EventId = 5310, Level = LogLevel.Debug, Message = "Lease request got no answer within {TimeoutMs} ms")]
    private partial void LogLeaseTimedOut(double timeoutMs);

    [LoggerMessage(EventId = 5311, Level = LogLevel.Debug, Message = "Lease request refused: {Status} {Reason}")]
    private partial void LogLeaseRequestRefused(int status, string? reason);

    [LoggerMessage(EventId = 5309, Level = LogLevel.Error, Message = "Leading failed; releasing the Lease so that another replica can lead")]
    private partial void LogLeadFailed(Exception failure);
}

using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// Brings one Service to what its source wants, from the source's current answer alone: applies it, or releases it,
/// or leaves it parked; then writes its status when the record differs and tells operators what changed.
/// </summary>
internal sealed class ReconcileStep(
    IServiceSource source,
    ISender sender,
    IAppliedServiceRegistry applied,
    IServiceStatusWriter status,
    TermState term,
    ILogger logger)
{
    public async Task RunAsync(ServiceKey key, CancellationToken cancellationToken)
    {
        var desired = source.Find(key);
        if (desired is null)
        {
            if (await ReleaseAsync(key, cancellationToken).ConfigureAwait(false))
            {
                term.Queue.Forget(key);
            }

            return;
        }

        if (term.Parked.IsWaiting(key, desired.Spec))
        {
            await ReportWarningsAsync(key, desired, cancellationToken).ConfigureAwait(false);
            return;
        }

        var running = applied.Find(key);
        ApplyServiceResponse? response = null;
        if (running is null || !desired.IsServedBy(running))
        {
            response = await sender.Send(desired.ToCommand(), cancellationToken).ConfigureAwait(false);
            if (!response.Succeeded)
            {
                await FailedAsync(key, desired, response, cancellationToken).ConfigureAwait(false);
                await ReportWarningsAsync(key, desired, cancellationToken).ConfigureAwait(false);
                return;
            }

            Wake(response.Freed);
        }

        // Served as asked now, by this apply or already: it waits for nothing and fails no more.
        var served = response?.Applied ?? running!;
        term.Parked.Forget(key);
        if (term.Failing.TryRemove(key, out _))
        {
            ReconcileLog.Recovered(logger, key, served.Ip);
        }

        // The status first: it is what users of the Service wait for. The Events come after it, and what still stands
        // is told after the Normal events of this pass, which make earlier warnings news again.
        var recorded = await WriteStatusAsync(key, served.Ips, cancellationToken).ConfigureAwait(false);
        if (response is not null)
        {
            await ReportAppliedAsync(key, running, response, cancellationToken).ConfigureAwait(false);
        }

        // A refusal or an invalid edit that has been undone is news again should it come back.
        await term.Conditions.ResolveAsync(key, ServiceEventReasons.InvalidService, cancellationToken).ConfigureAwait(false);
        await term.Conditions.ResolveAsync(key, ServiceEventReasons.ApplyFailed, cancellationToken).ConfigureAwait(false);
        await ReportWarningsAsync(key, desired, cancellationToken).ConfigureAwait(false);
        if (!recorded)
        {
            return;
        }

        await ReportBackendsAsync(key, desired, served, cancellationToken).ConfigureAwait(false);
        term.Queue.Forget(key);
    }

    private async Task ReportAppliedAsync(ServiceKey key, AppliedService? before, ApplyServiceResponse response, CancellationToken cancellationToken)
    {
        var allocation = response.Allocation!;
        var ip = allocation.Primary.Ip;

        // An IP restored from the record after a restart is news to nobody: thousands of Services would each get an
        // Event on every restart or change of leader.
        if (allocation.Changed || (before is not null && !before.Ips.SequenceEqual(allocation.Ips)))
        {
            var ports = string.Join(", ", allocation.Primary.Bindings.Select(binding => binding.Port));
            var ips = string.Join(", ", allocation.Allocations.Select(one => $"{one.Ip} ({one.Reason.ToString().ToLowerInvariant()})"));
            await ReportAsync(key, ServiceEventType.Normal, ServiceEventReasons.Allocated,
                allocation.Allocations.Count == 1 ? $"Assigned IP {ips} for ports {ports}" : $"Assigned IPs {ips} for ports {ports}",
                cancellationToken).ConfigureAwait(false);
        }
        else if (await term.Conditions.StandsAsync(key, ServiceEventReasons.ApplyFailed, cancellationToken).ConfigureAwait(false))
        {
            await ReportAsync(key, ServiceEventType.Normal, ServiceEventReasons.Applied,
                $"Serving on {ip} again", cancellationToken).ConfigureAwait(false);
        }

        // PreferDualStack served with one family: said once (a Normal Event, since the Service runs as its policy allows).
        if (allocation.Shortfalls.Count == 0)
        {
            await term.Conditions.ResolveAsync(key, ServiceEventReasons.FamilyUnavailable, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var missing = allocation.Shortfalls[0];
            await ReportAsync(key, ServiceEventType.Normal, ServiceEventReasons.FamilyUnavailable,
                $"ipFamilyPolicy PreferDualStack: served on {ip} only; no {IpFamilies.Name(missing.Family)} address: {missing.Reason}",
                cancellationToken).ConfigureAwait(false);
        }

        if (response.NotForwarded.Count == 0)
        {
            await term.Conditions.ResolveAsync(key, ServiceEventReasons.NotForwarded, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await ReportAsync(key, ServiceEventType.Warning, ServiceEventReasons.NotForwarded,
                $"ports {string.Join(", ", response.NotForwarded)} are allocated but not forwarded: the forwarder handles TCP and UDP only",
                cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FailedAsync(ServiceKey key, DesiredService desired, ApplyServiceResponse response, CancellationToken cancellationToken)
    {
        if (response.ValidationErrors.Count > 0)
        {
            // What runs for the Service stays as it was; the next edit of the Service brings it back here.
            var invalid = $"{response.Failure}; not served as written";
            term.Parked.ParkInvalid(key, desired.Spec, invalid);
            await ReportAsync(key, ServiceEventType.Warning, ServiceEventReasons.InvalidService, invalid, cancellationToken).ConfigureAwait(false);
            term.Queue.Forget(key);
            return;
        }

        if (response.Refusal is { } refusal)
        {
            // Retrying cannot help until another Service lets go of something (or this one is edited): it waits for that.
            term.Parked.Park(key, desired.Spec, refusal);
            await ReportAsync(key, ServiceEventType.Warning, ServiceEventReasons.ApplyFailed, refusal.Message, cancellationToken).ConfigureAwait(false);
            term.Queue.Forget(key);
            return;
        }

        // A listener that could not bind, a link device that said no: the same attempt may succeed later.
        var failure = response.Failure ?? "unknown failure";
        var delay = term.Queue.Retry(key);
        var known = term.Failing.TryGetValue(key, out var last) && last == failure;
        term.Failing[key] = failure;
        if (known)
        {
            ReconcileLog.StillFailing(logger, key, failure, delay);
        }
        else
        {
            ReconcileLog.Retrying(logger, key, failure, delay);
        }

        await ReportAsync(key, ServiceEventType.Warning, ServiceEventReasons.ApplyFailed,
            $"{failure}; retried until it succeeds", cancellationToken).ConfigureAwait(false);
    }

    /// <returns>False when something failed and a retry is scheduled.</returns>
    private async Task<bool> ReleaseAsync(ServiceKey key, CancellationToken cancellationToken)
    {
        term.Parked.Forget(key);
        term.Failing.TryRemove(key, out _);
        var removed = await sender.Send(new RemoveService(key.Namespace, key.Name), cancellationToken).ConfigureAwait(false);
        Wake(removed.Freed);

        // A Service that stopped being ours (and still exists) must not keep showing our IP; only our IP is cleared,
        // since another implementation may own it now. Remembered until cleared: a retry finds nothing left to remove.
        var ours = removed.Ip ?? term.PendingClears.GetValueOrDefault(key);
        if (ours is not null && source.RecordedIps(key).Contains(ours))
        {
            term.PendingClears[key] = ours;
            if (!await WriteStatusAsync(key, [], cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            var released = removed.Ips.Count > 1 ? $"Released IPs {string.Join(", ", removed.Ips)}" : $"Released IP {ours}";
            await ReportAsync(key, ServiceEventType.Normal, ServiceEventReasons.Released, released, cancellationToken).ConfigureAwait(false);
        }

        term.PendingClears.TryRemove(key, out _);
        await term.Conditions.ForgetAsync(key, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <returns>False when the write failed and a retry is scheduled.</returns>
    /// <param name="ips">Every IP, primary first (the ingress order); empty clears the record.</param>
    private async Task<bool> WriteStatusAsync(ServiceKey key, IReadOnlyList<IPAddress> ips, CancellationToken cancellationToken)
    {
        if (source.RecordedIps(key).SequenceEqual(ips))
        {
            term.StatusFailing.TryRemove(key, out _);
            return true;
        }

        try
        {
            await status.WriteAsync(key, ips, cancellationToken).ConfigureAwait(false);
            term.StatusFailing.TryRemove(key, out _);
            return true;
        }
        catch (Exception failure) when (failure is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The record is away (an API server restarting, a full disk): the Service runs, and its record is written
            // once it can be.
            var delay = term.Queue.Retry(key);
            if (term.StatusFailing.TryAdd(key, failure.Message))
            {
                ReconcileLog.StatusFailed(logger, key, failure.Message, delay);
            }
            else
            {
                ReconcileLog.StatusStillFailing(logger, key, failure.Message, delay);
            }

            return false;
        }
    }

    private async Task ReportBackendsAsync(ServiceKey key, DesiredService desired, AppliedService running, CancellationToken cancellationToken)
    {
        var empty = running.Listeners.Where(listener => listener.Backends.Count == 0).Select(listener => listener.Binding.Port).ToList();
        if (empty.Count == 0)
        {
            if (await term.Conditions.StandsAsync(key, ServiceEventReasons.NoBackends, cancellationToken).ConfigureAwait(false))
            {
                await ReportAsync(key, ServiceEventType.Normal, ServiceEventReasons.BackendsAvailable,
                    "every port has backends again", cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var skipped = desired.BackendNotes.Count == 0 ? string.Empty : $" ({string.Join("; ", desired.BackendNotes)})";
        await ReportAsync(key, ServiceEventType.Warning, ServiceEventReasons.NoBackends,
            $"ports {string.Join(", ", empty)} have no backends: {desired.NoBackendsReason}{skipped}; new connections to them are closed at once",
            cancellationToken).ConfigureAwait(false);
    }

    private async Task ReportWarningsAsync(ServiceKey key, DesiredService desired, CancellationToken cancellationToken)
    {
        if (desired.Warnings.Count == 0)
        {
            await term.Conditions.ResolveAsync(key, ServiceEventReasons.InvalidAnnotation, cancellationToken).ConfigureAwait(false);
            return;
        }

        await ReportAsync(key, ServiceEventType.Warning, ServiceEventReasons.InvalidAnnotation,
            $"{string.Join("; ", desired.Warnings)}; the default is used in place of each", cancellationToken).ConfigureAwait(false);
    }

    private void Wake(IReadOnlyList<PortBinding> freed)
    {
        foreach (var parked in term.Parked.Wake(freed))
        {
            term.Queue.Enqueue(parked);
        }
    }

    private ValueTask<bool> ReportAsync(ServiceKey key, ServiceEventType type, string reason, string message, CancellationToken cancellationToken) =>
        term.Conditions.ReportAsync(new ServiceEvent(key, type, reason, message), cancellationToken);
}

using System.Collections.Concurrent;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.State;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// What operators have been told about each Service, so that an Event is recorded when a fact changes and not each time
/// a reconcile finds it again. A Normal event (allocated, released, backends back) says the situation moved on: the
/// warnings before it become news again. Seeded at each term's start from what the sink already holds, so that a restart
/// or a new leader does not repeat what is on the Service already.
/// </summary>
/// <remarks>
/// Reading what the sink holds (a list of every Event in a cluster) must not delay serving after a failover, so the
/// seed is a task: Services are applied at once, and only the decisions about what to tell wait for it.
/// </remarks>
internal sealed class ServiceConditions(IEventRecorder recorder, RecentEvents recent)
{
    /// <summary>The last message recorded per Service and reason since the last Normal event of another reason.</summary>
    private readonly ConcurrentDictionary<ServiceKey, ConcurrentDictionary<string, string>> _told = new();
    private Task _seeded = Task.CompletedTask;

    /// <summary>Takes what the sink holds (oldest first) as told, once <paramref name="held"/> completes.</summary>
    /// <param name="unreadable">Told why when the sink cannot be read; the term then tells every fact once more.</param>
    public void SeedFrom(Task<IReadOnlyList<ServiceEvent>> held, Action<Exception> unreadable)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(unreadable);
        _seeded = SeedAsync(held, unreadable);
    }

    /// <summary>Takes what the sink holds (oldest first) as told.</summary>
    public void Seed(IEnumerable<ServiceEvent> held)
    {
        ArgumentNullException.ThrowIfNull(held);
        foreach (var serviceEvent in held)
        {
            Remember(serviceEvent);
        }
    }

    /// <summary>Records <paramref name="serviceEvent"/> unless it is what was last told for its reason.</summary>
    /// <returns>Whether it was recorded.</returns>
    public async ValueTask<bool> ReportAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serviceEvent);
        await _seeded.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (IsTold(serviceEvent.Service, serviceEvent.Reason, serviceEvent.Message))
        {
            return false;
        }

        await recorder.RecordAsync(serviceEvent, cancellationToken).ConfigureAwait(false);
        Remember(serviceEvent);
        recent.Add(serviceEvent);
        return true;
    }

    /// <summary>Whether a warning of <paramref name="reason"/> stands for <paramref name="service"/> (told and not moved on from).</summary>
    public async ValueTask<bool> StandsAsync(ServiceKey service, string reason, CancellationToken cancellationToken)
    {
        await _seeded.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _told.TryGetValue(service, out var reasons) && reasons.ContainsKey(reason);
    }

    /// <summary>
    /// The condition behind <paramref name="reason"/> is over without news worth an Event of its own (an invalid edit
    /// corrected): should it come back, it is news again.
    /// </summary>
    public async ValueTask ResolveAsync(ServiceKey service, string reason, CancellationToken cancellationToken)
    {
        await _seeded.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_told.TryGetValue(service, out var reasons))
        {
            reasons.TryRemove(reason, out _);
        }
    }

    /// <summary>The Service is gone from this replica: whatever comes back about it is news.</summary>
    public async ValueTask ForgetAsync(ServiceKey service, CancellationToken cancellationToken)
    {
        await _seeded.WaitAsync(cancellationToken).ConfigureAwait(false);
        _told.TryRemove(service, out _);
    }

    private async Task SeedAsync(Task<IReadOnlyList<ServiceEvent>> held, Action<Exception> unreadable)
    {
        try
        {
            Seed(await held.ConfigureAwait(false));
        }
        catch (Exception failure) when (failure is not OperationCanceledException)
        {
            unreadable(failure);
        }
    }

    private bool IsTold(ServiceKey service, string reason, string message) =>
        _told.TryGetValue(service, out var reasons) && reasons.TryGetValue(reason, out var last) && last == message;

    private void Remember(ServiceEvent serviceEvent)
    {
        var reasons = _told.GetOrAdd(serviceEvent.Service, _ => new ConcurrentDictionary<string, string>(StringComparer.Ordinal));
        if (serviceEvent.Type == ServiceEventType.Normal)
        {
            foreach (var reason in reasons.Keys.Where(reason => reason != serviceEvent.Reason))
            {
                reasons.TryRemove(reason, out _);
            }
        }

        reasons[serviceEvent.Reason] = serviceEvent.Message;
    }
}

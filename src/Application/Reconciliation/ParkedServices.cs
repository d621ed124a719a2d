using System.Collections.Concurrent;
using System.Net;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// Services that were refused (by the allocator, or as invalid) and wait for something that could change the answer,
/// instead of being tried again whenever anything happens: their own spec changing, or a release of what they asked for.
/// </summary>
internal sealed class ParkedServices
{
    private readonly ConcurrentDictionary<ServiceKey, Parked> _parked = new();

    public int Count => _parked.Count;

    public IEnumerable<ServiceKey> Keys => _parked.Keys;

    /// <summary>Parks a Service the allocator refused; what frees it depends on why.</summary>
    public void Park(ServiceKey service, ServiceSpec spec, AllocationRefusal refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        var wake = refusal.Kind switch
        {
            // Only another pool (a restart) or another spec can help: an address outside the pool stays outside.
            RefusalKind.OutsidePool or RefusalKind.NetworkOrBroadcast or RefusalKind.Excluded => WakeOn.Never,

            // A pool that does not exist or does not admit the Service: only its edit or another pool set can help.
            RefusalKind.UnknownPool or RefusalKind.NotAdmitted or RefusalKind.FamilyUnavailable => WakeOn.Never,

            // The explicit IP is taken on one of its ports, or by Services it may not share with: a release on that IP.
            RefusalKind.PortInUse or RefusalKind.NotShareable when RequestedIp(spec) is { } ip => WakeOn.Ip(ip),

            // No IP has room: any port freed anywhere may make some.
            _ => WakeOn.AnyRelease,
        };
        _parked[service] = new Parked(spec, wake, UnservedKind.Refused, refusal.Message);
    }

    /// <summary>Parks a Service that cannot be served as written: only an edit of its own can help.</summary>
    /// <param name="reason">What is wrong with it, as operators were told.</param>
    public void ParkInvalid(ServiceKey service, ServiceSpec spec, string reason) =>
        _parked[service] = new Parked(spec, WakeOn.Never, UnservedKind.Invalid, reason);

    /// <summary>Every parked Service with why it waits, for the state the daemon shows.</summary>
    public IEnumerable<UnservedService> Describe() =>
        _parked.Select(entry => new UnservedService(entry.Key, entry.Value.Kind, entry.Value.Reason, entry.Value.Spec));

    /// <summary>
    /// Whether <paramref name="service"/> still waits: parked with this very spec and not woken since. A Service whose
    /// spec changed is tried again (and unparked by whatever that attempt gives).
    /// </summary>
    public bool IsWaiting(ServiceKey service, ServiceSpec spec) =>
        _parked.TryGetValue(service, out var parked) && !parked.Woken && parked.Spec.AsksSameAs(spec);

    /// <summary>Wakes the parked Services that <paramref name="freed"/> could help, and returns them to be tried again.</summary>
    public IReadOnlyList<ServiceKey> Wake(IReadOnlyCollection<PortBinding> freed)
    {
        if (freed.Count == 0)
        {
            return [];
        }

        var woken = new List<ServiceKey>();
        foreach (var (service, parked) in _parked)
        {
            if (!parked.Woken && parked.Wake.By(freed) && _parked.TryUpdate(service, parked with { Woken = true }, parked))
            {
                woken.Add(service);
            }
        }

        return woken;
    }

    /// <summary>Wakes every parked Service, whatever it waits for: the pools it was refused by were replaced.</summary>
    public void WakeAll()
    {
        foreach (var (service, parked) in _parked)
        {
            if (!parked.Woken)
            {
                _parked.TryUpdate(service, parked with { Woken = true }, parked);
            }
        }
    }

    public void Forget(ServiceKey service) => _parked.TryRemove(service, out _);

    private static IPAddress? RequestedIp(ServiceSpec spec) =>
        spec.LoadBalancerIp is { } text && IpAddressText.TryParse(text, out var ip) ? ip : null;

    private sealed record Parked(ServiceSpec Spec, WakeOn Wake, UnservedKind Kind, string Reason)
    {
        public bool Woken { get; init; }
    }

    /// <summary>What releases a parked Service: nothing but its own edit, a release on one IP, or any release.</summary>
    private sealed record WakeOn(bool Any, IPAddress? Address)
    {
        public static readonly WakeOn Never = new(false, null);
        public static readonly WakeOn AnyRelease = new(true, null);

        public static WakeOn Ip(IPAddress ip) => new(false, ip);

        public bool By(IReadOnlyCollection<PortBinding> freed) => Any || (Address is { } ip && freed.Any(binding => binding.Ip.Equals(ip)));
    }
}

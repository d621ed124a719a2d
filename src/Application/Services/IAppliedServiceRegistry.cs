using System.Net;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Services;

/// <summary>
/// The Services applied in this process. Reads take no lock (an immutable snapshot is swapped on each change); changes
/// are made only while holding <see cref="EnterAsync"/>, so that one apply or remove runs at a time and two Services
/// never race for an address on the link device.
/// </summary>
public interface IAppliedServiceRegistry
{
    AppliedService? Find(ServiceKey service);

    /// <summary>Every applied Service, ordered by namespace and name.</summary>
    IReadOnlyList<AppliedService> All();

    /// <summary>Whether an applied Service other than <paramref name="except"/> has <paramref name="ip"/>.</summary>
    bool IsIpHeld(IPAddress ip, ServiceKey? except = null);

    void Put(AppliedService service);

    void Remove(ServiceKey service);

    /// <summary>Waits for the right to change the applied state; dispose the result to give it back.</summary>
    Task<IDisposable> EnterAsync(CancellationToken cancellationToken);
}

using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Services.ApplyService;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>
/// Compares <see cref="ApplyService"/> commands by content. The records hold lists, which record equality compares by
/// reference; a source that maps the same Service twice gets new lists and must still see that nothing changed.
/// </summary>
internal sealed class ApplyServiceComparer : IEqualityComparer<ApplyService>
{
    public static ApplyServiceComparer Instance { get; } = new();

    /// <summary>Whether applying <paramref name="second"/> after <paramref name="first"/> would change nothing.</summary>
    public static bool SameCommand(ApplyService? first, ApplyService? second)
    {
        if (ReferenceEquals(first, second))
        {
            return true;
        }

        if (first is null || second is null)
        {
            return false;
        }

        return SameSpec(first.Service, second.Service)
            && first.Policy == second.Policy
            && first.HealthCheck == second.HealthCheck
            && first.Backends.Count == second.Backends.Count
            && first.Backends.Zip(second.Backends).All(pair =>
                pair.First.Port == pair.Second.Port && pair.First.Endpoints.SequenceEqual(pair.Second.Endpoints));
    }

    /// <summary>Whether two specs ask the allocator for the same thing (the record compares its port list by reference).</summary>
    public static bool SameSpec(ServiceSpec first, ServiceSpec second) =>
        first with { Ports = [] } == second with { Ports = [] } && first.Ports.SequenceEqual(second.Ports);

    public bool Equals(ApplyService? x, ApplyService? y) => SameCommand(x, y);

    public int GetHashCode(ApplyService obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return HashCode.Combine(obj.Service.Key, obj.Service.LoadBalancerIp, obj.Policy, obj.HealthCheck, obj.Backends.Count);
    }
}

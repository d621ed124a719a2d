using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Application.Abstractions;

/// <summary>
/// What the forwarder counts, for the state dump, the status page and metrics. Reading takes no lock the data path
/// waits on: the counters are read as they are, and a listener's backend set is an immutable snapshot.
/// </summary>
public interface IForwarderStatistics
{
    /// <summary>The listener on <paramref name="binding"/>; null when there is none (not applied, or stopped).</summary>
    ListenerStatistics? GetStatistics(PortBinding binding);

    /// <summary>Every listener that accepts connections now, in no particular order.</summary>
    IReadOnlyList<ListenerStatistics> GetAllStatistics();
}

/// <summary>For a forwarder that counts nothing (a test's fake): no listener has statistics.</summary>
internal sealed class NoForwarderStatistics : IForwarderStatistics
{
    public static NoForwarderStatistics Instance { get; } = new();

    public ListenerStatistics? GetStatistics(PortBinding binding) => null;

    public IReadOnlyList<ListenerStatistics> GetAllStatistics() => [];
}

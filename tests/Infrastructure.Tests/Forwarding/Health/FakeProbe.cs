using System.Collections.Concurrent;
using System.Net;
using LoadBalancer.Infrastructure.Forwarding.Health;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Health;

/// <summary>A probe that answers as told and remembers which endpoints it was asked about.</summary>
internal sealed class FakeProbe(Func<IPEndPoint, CancellationToken, ValueTask<bool>> answer) : IHealthProbe
{
    public FakeProbe(bool passes)
        : this((_, _) => ValueTask.FromResult(passes))
    {
    }

    public ConcurrentQueue<IPEndPoint> Probed { get; } = new();

    public int Count => Probed.Count;

    public ValueTask<bool> ProbeAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        Probed.Enqueue(endpoint);
        return answer(endpoint, cancellationToken);
    }
}

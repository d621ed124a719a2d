using System.Net;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>One active check of one backend.</summary>
internal interface IHealthProbe
{
    /// <summary>
    /// True when the backend passed. A backend that does not answer before <paramref name="cancellationToken"/> fires
    /// (the check's timeout) has failed: return false or throw <see cref="OperationCanceledException"/>.
    /// </summary>
    ValueTask<bool> ProbeAsync(IPEndPoint endpoint, CancellationToken cancellationToken);
}

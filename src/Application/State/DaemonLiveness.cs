using System.Globalization;
using LoadBalancer.Application.Reconciliation;

namespace LoadBalancer.Application.State;

/// <summary>
/// Whether the daemon is alive, for <c>/healthz</c>: the probe's answer itself shows that the thread pool, on which the
/// forwarder's loops run too, still turns; this adds that the reconcile core does, that no Service's reconcile has been
/// stuck for longer than any reconcile can take (its API calls time out, its drain is bounded). A stuck reconcile holds
/// its worker for good, and a restart is what heals it: that is what a liveness probe is for.
/// </summary>
public sealed class DaemonLiveness(IReconcilerState reconciler)
{
    /// <summary>
    /// Far beyond any reconcile: an API call times out within 100 s (the client's default), a drain within
    /// <c>--drain-timeout</c> (10 s by default), a retry is a new call.
    /// </summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromMinutes(5);

    /// <summary>Null while alive; else why not, for the probe's body.</summary>
    public string? NotAliveReason()
    {
        if (reconciler.LongestReconcile() is { } longest && longest.For > StallLimit)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"the reconcile of {longest.Service} has run for {longest.For.TotalSeconds:0} s (more than {StallLimit.TotalSeconds:0} s): the reconcile core is stuck");
        }

        return null;
    }
}

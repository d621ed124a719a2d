using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Reconciliation;

namespace LoadBalancer.Application.State;

/// <summary>
/// Whether the daemon is ready, for <c>/readyz</c>: its source has read its world (the Services file read, the caches
/// listed), and, while this replica serves, its term has reconciled every Service once. A replica standing by is ready
/// once its caches are synced, so that a Deployment of two rolls out.
/// </summary>
public sealed class DaemonReadiness(IServiceSource source, IServiceReconciler reconciler)
{
    /// <summary>Null when ready; else why not, for the probe's body.</summary>
    public string? NotReadyReason()
    {
        if (source.Ready.IsFaulted)
        {
            return "the source could not start: " + source.Ready.Exception?.GetBaseException().Message;
        }

        if (!source.Ready.IsCompletedSuccessfully)
        {
            return "the Services have not been read yet (the file, or the API server's caches)";
        }

        if (reconciler.IsServing && !reconciler.Ready.IsCompletedSuccessfully)
        {
            return "the Services have not all been reconciled once yet";
        }

        return null;
    }
}

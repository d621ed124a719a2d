using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.State;
using LoadBalancer.Application.State.GetDaemonState;
using LoadBalancer.Host.Hosting;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Signals;

/// <summary>
/// SIGUSR1: the daemon's state in the log, a line per entry (pools used and free; each Service with its IP, ports, backends, their
/// health and open connections; leading or standing by), the same model the status page will show.
/// </summary>
public sealed class StateDump(IServiceProvider services, ILogger<StateDump> logger)
{
    public async Task WriteAsync(CancellationToken cancellationToken)
    {
        var state = await RenderAsync(cancellationToken).ConfigureAwait(false);
        foreach (var line in state.Split('\n'))
        {
            HostLog.StateDump(logger, line);
        }
    }

    public async Task<string> RenderAsync(CancellationToken cancellationToken)
    {
        // forward and demo-backend serve no Services: no reconciler, no allocator.
        if (services.GetService<IReconcilerState>() is null || services.GetService<ISender>() is not { } sender)
        {
            return "no Services in this mode";
        }

        var state = await sender.Send(new GetDaemonState(), cancellationToken).ConfigureAwait(false);
        return DaemonStateText.Render(state);
    }
}

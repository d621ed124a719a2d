using System.Text;
using LoadBalancer.Application.Services;
using LoadBalancer.Host.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Signals;

/// <summary>SIGUSR1: the daemon's state as one log entry.</summary>
public sealed class StateDump(IServiceProvider services, ILogger<StateDump> logger)
{
    public Task WriteAsync(CancellationToken cancellationToken)
    {
        var state = Render();
        HostLog.StateDump(logger, state);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The Services applied now, with their IPs and listeners.
    /// TODO(issue 11, state): GetDaemonState and DaemonStateText.Render once the state work is merged (pools used and
    /// free, backends with health, open connections and bytes, leader or standby).
    /// </summary>
    public string Render()
    {
        if (services.GetService<IAppliedServiceRegistry>() is not { } applied)
        {
            return "no Services in this mode";
        }

        var all = applied.All();
        var text = new StringBuilder().Append(all.Count).Append(all.Count == 1 ? " Service" : " Services").Append(" applied");
        foreach (var service in all)
        {
            text.Append('\n').Append(service.Key).Append(' ').Append(service.Ip).Append(' ').Append(service.Policy).Append(':');
            foreach (var listener in service.Listeners)
            {
                text.Append(' ').Append(listener.Binding).Append(" → ").Append(string.Join(", ", listener.Backends));
            }
        }

        return text.ToString();
    }
}

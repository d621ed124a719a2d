using System.Runtime.InteropServices;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure.Os;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Signals;

/// <summary>
/// The signals beyond the stopping ones (SIGINT, SIGTERM and SIGQUIT stop the host through its console lifetime, which
/// drains): SIGHUP reloads, SIGUSR1 dumps the state. Neither kills the process, as their default actions would, and
/// both are handled even when the daemon was started with them ignored (under <c>nohup</c>), as nginx does.
/// </summary>
public static class SignalRegistrations
{
    /// <summary>SIGUSR1 has no name in <see cref="PosixSignal"/>; Linux numbers it 10.</summary>
    public const PosixSignal UserSignal1 = (PosixSignal)10;

    public static IServiceCollection AddSignals(this IServiceCollection services)
    {
        services.AddSingleton<ConfigurationReloader>();
        services.AddSingleton<StateDump>();
        services.AddSingleton<IHostedService>(provider => new SignalHandler(PosixSignal.SIGHUP, provider.GetRequiredService<ConfigurationReloader>().ReloadAsync, provider.GetRequiredService<ILogger<SignalHandler>>()));
        services.AddSingleton<IHostedService>(provider => new SignalHandler(UserSignal1, provider.GetRequiredService<StateDump>().WriteAsync, provider.GetRequiredService<ILogger<SignalHandler>>()));
        return services;
    }
}

/// <summary>Runs <paramref name="handle"/> on each <paramref name="signal"/> while the host runs, one run at a time.</summary>
internal sealed class SignalHandler(PosixSignal signal, Func<CancellationToken, Task> handle, ILogger<SignalHandler> logger) : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private PosixSignalRegistration? _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // .NET would keep an inherited ignore and never call the handler (InheritedSignalIgnore says why it is cleared).
        if (InheritedSignalIgnore.Clear(signal))
        {
            HostLog.InheritedSignalIgnoreCleared(logger, Name(signal));
        }

        _registration = PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            _ = RunAsync();
        });
        return Task.CompletedTask;
    }

    /// <summary>"SIGHUP", "SIGUSR1": as operators write them.</summary>
    internal static string Name(PosixSignal signal) => signal == SignalRegistrations.UserSignal1 ? "SIGUSR1" : signal.ToString();

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration?.Dispose();
        _registration = null;
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _registration?.Dispose();
        _stopping.Dispose();
        _one.Dispose();
    }

    private async Task RunAsync()
    {
        try
        {
            await _one.WaitAsync(_stopping.Token).ConfigureAwait(false);
            try
            {
                await handle(_stopping.Token).ConfigureAwait(false);
            }
            finally
            {
                _one.Release();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }
}

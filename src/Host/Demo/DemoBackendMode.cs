using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure.Demo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host.Demo;

/// <summary><c>loadbalancer demo-backend</c>: answers <c>hello from IP:PORT</c> on each address (TCP, and UDP datagrams on <c>--listen-udp</c>) until stopped.</summary>
public static class DemoBackendMode
{
    public static Task<int> RunAsync(RunContext run, ConfigurationInputs inputs, IReadOnlyList<Endpoint> listen, CancellationToken stopping) =>
        RunAsync(run, inputs, listen, [], stopping);

    public static async Task<int> RunAsync(
        RunContext run, ConfigurationInputs inputs, IReadOnlyList<Endpoint> listen, IReadOnlyList<Endpoint> listenUdp, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (await StartingConfiguration.LoadAsync(run, inputs).ConfigureAwait(false) is not { } configuration)
        {
            return ExitCodes.UsageError;
        }

        var builder = DaemonHost.CreateBuilder(run, configuration);
        builder.Services.AddHostedService(provider => new DemoBackendService(
            listen, listenUdp, run, provider.GetRequiredService<DaemonOutcome>(), provider.GetRequiredService<IHostApplicationLifetime>()));
        return await DaemonHost.RunAsync(builder, run, stopping).ConfigureAwait(false);
    }

    private sealed class DemoBackendService(IReadOnlyList<Endpoint> listen, IReadOnlyList<Endpoint> listenUdp, RunContext run, DaemonOutcome outcome, IHostApplicationLifetime lifetime)
        : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            if (await DemoBackend.RunAsync(listen, listenUdp, run.Output, run.Error, stoppingToken).ConfigureAwait(false) != ExitCodes.Success)
            {
                outcome.Fail(ExitCodes.Failure);
                lifetime.StopApplication();
            }
        }
    }
}

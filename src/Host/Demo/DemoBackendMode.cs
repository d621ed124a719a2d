using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure.Demo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host.Demo;

/// <summary>
/// <c>loadbalancer demo-backend</c>: answers <c>hello from IP:PORT</c> on each address (TCP, and UDP datagrams on
/// <c>--listen-udp</c>) until stopped; with <c>--proxy-protocol</c>, reads a PROXY protocol header first and adds
/// <c>to client CLIENTIP:CLIENTPORT</c>.
/// </summary>
public static class DemoBackendMode
{
    public static async Task<int> RunAsync(RunContext run, ConfigurationInputs inputs, IReadOnlyList<Endpoint> listen,
        IReadOnlyList<Endpoint> listenUdp, bool proxyProtocol, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (await StartingConfiguration.LoadAsync(run, inputs).ConfigureAwait(false) is not { } configuration)
        {
            return ExitCodes.UsageError;
        }

        var builder = DaemonHost.CreateBuilder(run, configuration);
        builder.Services.AddHostedService(provider => new DemoBackendService(
            listen, listenUdp, proxyProtocol, run, provider.GetRequiredService<DaemonOutcome>(), provider.GetRequiredService<IHostApplicationLifetime>()));
        return await DaemonHost.RunAsync(builder, run, stopping).ConfigureAwait(false);
    }

    private sealed class DemoBackendService(IReadOnlyList<Endpoint> listen, IReadOnlyList<Endpoint> listenUdp, bool proxyProtocol, RunContext run,
        DaemonOutcome outcome, IHostApplicationLifetime lifetime)
        : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            if (await DemoBackend.RunAsync(listen, listenUdp, proxyProtocol, run.Output, run.Error, stoppingToken).ConfigureAwait(false) != ExitCodes.Success)
            {
                outcome.Fail(ExitCodes.Failure);
                lifetime.StopApplication();
            }
        }
    }
}

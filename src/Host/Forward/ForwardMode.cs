using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host.Forward;

/// <summary>What <c>loadbalancer forward</c> runs: one listener, no allocation, no Services.</summary>
public sealed record ForwardSettings(Endpoint Listen, IReadOnlyList<Endpoint> Backends)
{
    public bool HealthCheck { get; init; } = true;

    public ProxyProtocolVersion ProxyProtocol { get; init; }
}

/// <summary>The operators' socat: forwards one IP:PORT to backends until stopped, then drains.</summary>
public static class ForwardMode
{
    /// <summary>The name the listener carries in logs and statistics, as if it were a Service.</summary>
    public static readonly ServiceKey ListenerOwner = new("forward", "forward");

    public static async Task<int> RunAsync(RunContext run, ConfigurationInputs inputs, ForwardSettings forward, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (await StartingConfiguration.LoadAsync(run, inputs).ConfigureAwait(false) is not { } configuration)
        {
            return ExitCodes.UsageError;
        }

        var builder = DaemonHost.CreateBuilder(run, configuration);
        builder.Services
            .AddInfrastructure(configuration.Settings.Forwarder())
            .AddSingleton(forward)
            .AddHostedService<ForwardListener>();
        return await DaemonHost.RunAsync(builder, run, stopping).ConfigureAwait(false);
    }
}

/// <summary>The one listener of <c>forward</c>: opened at start (failing the start when it cannot be), drained at stop.</summary>
internal sealed class ForwardListener(
    IForwarder forwarder, ForwardSettings forward, StartedConfiguration configuration, RunContext writers, DaemonOutcome outcome,
    IHostApplicationLifetime lifetime) : IHostedService
{
    private readonly PortBinding _binding = new(forward.Listen.Address, ServicePort.Tcp(forward.Listen.Port));
    private bool _listening;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = configuration.Settings;
        var listener = new ListenerSpec(_binding, ForwardMode.ListenerOwner, forward.Backends, settings.BalancingPolicy)
        {
            HealthCheck = forward.HealthCheck ? HealthCheckSettings.Default : HealthCheckSettings.Default with { Enabled = false },
            ProxyProtocol = forward.ProxyProtocol,
        };
        var applied = await forwarder.ApplyAsync(listener, cancellationToken).ConfigureAwait(false);
        if (!applied.Succeeded)
        {
            await writers.Error.WriteLineAsync($"error: --listen {forward.Listen}: {applied.Error}").ConfigureAwait(false);
            outcome.Fail(ExitCodes.Failure);
            lifetime.StopApplication();
            return;
        }

        _listening = true;
        await writers.Output.WriteLineAsync(
            $"forwarding {forward.Listen} → {string.Join(", ", forward.Backends)} ({settings.BalancingPolicy}, {DaemonSettings.EngineName(settings.ForwardingEngine)}; Ctrl-C stops)")
            .ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_listening)
        {
            return;
        }

        var drain = configuration.Settings.Drain;
        await writers.Output.WriteLineAsync($"stopping {forward.Listen}: draining open connections for up to {drain.TotalSeconds:0.#} s").ConfigureAwait(false);
        await forwarder.StopAsync(_binding, drain, CancellationToken.None).ConfigureAwait(false);
    }
}

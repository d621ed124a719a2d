using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Host.Logging;
using LoadBalancer.Infrastructure;
using LoadBalancer.Infrastructure.Forwarding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Forward;

/// <summary>What <c>loadbalancer forward</c> runs: one listener, no allocation, no Services.</summary>
public sealed record ForwardSettings(Endpoint Listen, IReadOnlyList<Endpoint> Backends)
{
    public string Policy { get; init; } = LoadBalancingPolicyNames.Default;

    public bool HealthCheck { get; init; } = true;

    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>The operators' socat: forwards one IP:PORT to backends until cancelled, then drains.</summary>
public static class ForwardMode
{
    /// <summary>The name the listener carries in logs and statistics, as if it were a Service.</summary>
    public static readonly ServiceKey ListenerOwner = new("forward", "forward");

    public const int ListenFailed = 1;

    public static async Task<int> RunAsync(ForwardSettings settings, ForwarderOptions forwarding, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var services = new ServiceCollection()
            .AddLogging(logging => logging.ClearProviders()
                .SetMinimumLevel(LogLevel.Information)
                .AddProvider(new TextWriterLoggerProvider(error, LogLevel.Information)))
            .AddInfrastructure(forwarding);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var forwarder = provider.GetRequiredService<IForwarder>();
        var binding = new PortBinding(settings.Listen.Address, ServicePort.Tcp(settings.Listen.Port));
        var listener = new ListenerSpec(binding, ListenerOwner, settings.Backends, settings.Policy)
        {
            HealthCheck = settings.HealthCheck ? HealthCheckSettings.Default : HealthCheckSettings.Default with { Enabled = false },
        };

        var applied = await forwarder.ApplyAsync(listener, cancellationToken).ConfigureAwait(false);
        if (!applied.Succeeded)
        {
            await error.WriteLineAsync($"error: --listen {settings.Listen}: {applied.Error}").ConfigureAwait(false);
            return ListenFailed;
        }

        await output.WriteLineAsync(
            $"forwarding {settings.Listen} → {string.Join(", ", settings.Backends)} ({settings.Policy}, {forwarding.Engine.ToString().ToLowerInvariant()}; Ctrl-C stops)")
            .ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await output.WriteLineAsync($"stopping {settings.Listen}: draining open connections for up to {settings.DrainTimeout.TotalSeconds:0.#} s")
            .ConfigureAwait(false);
        await forwarder.StopAsync(binding, settings.DrainTimeout, CancellationToken.None).ConfigureAwait(false);
        return 0;
    }
}

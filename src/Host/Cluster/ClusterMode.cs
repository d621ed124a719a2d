using LoadBalancer.Application.Services;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure;

namespace LoadBalancer.Host.Cluster;

/// <summary>The daemon against a Kubernetes cluster: no command, the original's flags.</summary>
public static class ClusterMode
{
    public static async Task<int> RunAsync(RunContext run, ConfigurationInputs inputs, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (await StartingConfiguration.LoadAsync(run, inputs).ConfigureAwait(false) is not { } configuration)
        {
            return ExitCodes.UsageError;
        }

        var settings = configuration.Settings;
        var adapter = ClusterSettings.Adapter(settings);
        adapter = run.Seams.KubernetesAdapter?.Invoke(adapter) ?? adapter;
        // The cluster hands Services over to a standby at once after the Lease is lost: the drain is for shutdown only.
        var reconciler = settings.Reconciler() with { HandOverDrain = TimeSpan.Zero };
        var problems = adapter.Validate().Concat(reconciler.Validate()).ToList();
        if (problems.Count > 0)
        {
            return await run.FailAsync(ExitCodes.UsageError, problems).ConfigureAwait(false);
        }

        var client = run.Seams.KubernetesClient;
        if (client is null)
        {
            var (created, problem) = KubernetesConnection.Create(settings, configuration.Loaded, run.Environment);
            if (created is null)
            {
                return await run.FailAsync(ExitCodes.Failure, [problem!]).ConfigureAwait(false);
            }

            client = created;
        }

        try
        {
            // Ports are not known before the Services are read: a port below 1024 without the right is reported when its
            // listener cannot bind.
            var linkDevice = settings.LinkDeviceOptions(deviceIsDefault: configuration.Loaded.IsDefault(Settings.LinkDevice));
            if (!await StartupGate.PassAsync(run, linkDevice, settings.Announces, lowestPort: null).ConfigureAwait(false))
            {
                return ExitCodes.Failure;
            }

            var builder = DaemonHost.CreateBuilder(run, configuration);
            builder.Services
                .AddLoadBalancer(
                    settings.Allocation(),
                    settings.Forwarder(),
                    new ServiceOptions(),
                    reconciler,
                    linkDevice,
                    settings.Announcements())
                .AddKubernetesAdapter(client, adapter)
                .AddAdminEndpoint(settings.Admin())
                .AddServingDaemon();
            return await DaemonHost.RunAsync(builder, run, stopping).ConfigureAwait(false);
        }
        finally
        {
            if (run.Seams.KubernetesClient is null)
            {
                client.Dispose();
            }
        }
    }
}

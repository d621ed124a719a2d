using System.Net.Http.Json;
using LoadBalancer.Application.State;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure.Admin;

namespace LoadBalancer.Host.Tools;

/// <summary>
/// <c>loadbalancer status</c>: asks a running daemon's admin endpoint for its state (<c>/api/v1/state</c>) and prints
/// it as a table, the way <c>ipvsadm -L -n</c> does, or as the endpoint's JSON for scripts.
/// </summary>
public static class StatusCommand
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <param name="address">--admin-address when given; else the configuration's adminAddress.</param>
    public static async Task<int> RunAsync(RunContext run, ConfigurationInputs inputs, string? address, bool json, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        string source;
        if (address is null)
        {
            LoadedConfiguration loaded;
            try
            {
                loaded = ConfigurationLayers.Load(inputs);
            }
            catch (ConfigurationFileException unreadable)
            {
                return await run.FailAsync(ExitCodes.UsageError, [$"configuration file {unreadable.Message}"]).ConfigureAwait(false);
            }

            address = loaded.Root[Settings.AdminAddress] ?? AdminAddress.Default;
            source = loaded.Source(Settings.AdminAddress) ?? ValueSources.Default;
        }
        else
        {
            source = "--admin-address";
        }

        if (!AdminAddress.TryParse(address, out var endPoint, out var problem))
        {
            return await run.FailAsync(ExitCodes.UsageError, [$"adminAddress: {problem} ({source})"]).ConfigureAwait(false);
        }

        if (endPoint is null)
        {
            return await run.FailAsync(ExitCodes.UsageError, [$"adminAddress is \"none\" ({source}): the daemon has no admin endpoint to ask; give --admin-address IP:PORT"]).ConfigureAwait(false);
        }

        var uri = new Uri(AdminAddress.BaseUri(endPoint), "api/v1/state");
        using var http = new HttpClient { Timeout = Timeout };
        try
        {
            if (json)
            {
                await run.Output.WriteLineAsync(await http.GetStringAsync(uri, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            var document = await http.GetFromJsonAsync<StateDocument>(uri, AdminJson.Options, cancellationToken).ConfigureAwait(false);
            if (document is not { ApiVersion: StateDocument.Version })
            {
                return await run.FailAsync(ExitCodes.Failure, [$"{uri} answered an API version this client does not read ({document?.ApiVersion ?? "none"}; it reads {StateDocument.Version})"]).ConfigureAwait(false);
            }

            await run.Output.WriteLineAsync(DaemonStateText.Render(document.State)).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        catch (HttpRequestException unreachable)
        {
            return await run.FailAsync(ExitCodes.Failure, [$"cannot read {uri}: {unreachable.GetBaseException().Message}; is the daemon running with adminAddress {endPoint}?"]).ConfigureAwait(false);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return await run.FailAsync(ExitCodes.Failure, [$"{uri} did not answer within {Timeout.TotalSeconds:0} s"]).ConfigureAwait(false);
        }
    }
}

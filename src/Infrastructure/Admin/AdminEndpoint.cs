using System.Net;
using LoadBalancer.Application.State;
using LoadBalancer.Application.State.GetDaemonState;
using LoadBalancer.Infrastructure.Admin.StatusPage;
using Mediator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace LoadBalancer.Infrastructure.Admin;

/// <summary>Where the admin endpoint listens; null endpoint: nowhere.</summary>
public sealed record AdminOptions(IPEndPoint? EndPoint);

/// <summary>
/// The read-only admin endpoint on Kestrel: <c>/healthz</c>, <c>/readyz</c>, <c>/api/v1/state</c> and <c>/metrics</c>. A Kestrel of its
/// own beside the daemon's host, so that nothing of ASP.NET Core reaches the serving core, and a port that is busy is
/// tried again while the daemon serves. Nothing on it changes state, and nothing secret is in the state it shows.
/// </summary>
internal sealed class AdminEndpoint(
    AdminOptions options, ISender sender, DaemonLiveness liveness, DaemonReadiness readiness, MeterProvider meters, TimeProvider time, ILogger<AdminEndpoint> logger)
    : BackgroundService
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.EndPoint is not { } endPoint)
        {
            return;
        }

        if (!AdminAddress.IsLoopback(endPoint))
        {
            AdminLog.NotLoopback(logger, endPoint);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var app = Build(endPoint);
            try
            {
                await app.StartAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (IOException cannotBind)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                AdminLog.CannotListen(logger, endPoint, cannotBind.GetBaseException().Message, (long)RetryInterval.TotalSeconds);
                try
                {
                    await Task.Delay(RetryInterval, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }
            catch (OperationCanceledException)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                return;
            }

            AdminLog.Listening(logger, endPoint);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }

            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            return;
        }
    }

    private WebApplication Build(IPEndPoint endPoint)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "loadbalancer-admin" });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(endPoint);
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        app.MapGet("/healthz", () => liveness.NotAliveReason() is { } reason
            ? Results.Text($"not alive: {reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok\n"));
        app.MapGet("/readyz", () => readiness.NotReadyReason() is { } reason
            ? Results.Text($"not ready: {reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ready\n"));
        app.MapGet("/api/v1/state", async (CancellationToken cancellationToken) =>
        {
            var state = await sender.Send(new GetDaemonState(), cancellationToken).ConfigureAwait(false);
            return Results.Json(new StateDocument(StateDocument.Version, state), AdminJson.Options);
        });
        app.MapPrometheusScrapingEndpoint("/metrics", meters, configureBranchedPipeline: null, optionsName: null);
        app.MapStatusPage();
        return app;
    }
}

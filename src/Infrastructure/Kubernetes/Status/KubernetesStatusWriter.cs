using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Status;

/// <summary>
/// Writes a Service's assigned IP to <c>status.loadBalancer.ingress</c> (and, when asked, <c>spec.externalIPs</c>) with
/// merge patches, only when the value changes: the Service as the informer last saw it tells what the cluster holds, so a
/// restart with unchanged IPs writes nothing.
/// </summary>
/// <remarks>
/// The informer lags behind a write. Until it shows a newer version of the Service than the one a write was based on,
/// what was written is taken as the truth, so a burst of identical writes patches once; once it moves on (our own patch
/// arriving, or someone else's edit) the Service's own status is the truth again, and an edited status is written back.
/// Writes of different Services run side by side (as many as the reconciler's workers); two of the same Service go one
/// after the other, and one overtaken by a later one while waiting is skipped (<see cref="LatestWriteWins{TKey}"/>).
/// </remarks>
internal sealed class KubernetesStatusWriter(
    IKubernetes client,
    IServiceLookup services,
    KubernetesStatusOptions options,
    ILogger<KubernetesStatusWriter> logger)
    : IServiceStatusWriter
{
    private readonly ConcurrentDictionary<ServiceKey, Written> _written = new();
    private readonly LatestWriteWins<ServiceKey> _order = new();

    /// <summary>
    /// Writes the status. A Service that no longer exists (unknown to the lookup, or 404 from the API server) is not an
    /// error: there is nothing left to write to.
    /// </summary>
    /// <exception cref="HttpOperationException">The API server refused the patch or is unavailable; the caller retries.</exception>
    /// <exception cref="HttpRequestException">The API server could not be reached; the caller retries.</exception>
    public async ValueTask WriteAsync(ServiceKey service, IReadOnlyList<IPAddress> ips, CancellationToken cancellationToken)
    {
        using var turn = await _order.EnterAsync(service, cancellationToken).ConfigureAwait(false);
        if (turn is null)
        {
            // A later write of this Service came while this one waited: what this one holds is stale.
            StatusLog.Overtaken(logger, service, ips);
            return;
        }

        var current = services.Find(service);
        if (current is null)
        {
            _written.TryRemove(service, out _);
            StatusLog.ServiceGone(logger, service);
            return;
        }

        var version = current.Metadata?.ResourceVersion;
        var last = _written.TryGetValue(service, out var written) ? written : null;

        // The informer still shows the version our last write started from, so its status and spec are stale.
        var stale = last is not null && last.ResourceVersion == version;
        if (stale && last!.Ips.SequenceEqual(ips))
        {
            LogUnchanged(service, ips);
            return;
        }

        try
        {
            // The status first: a cluster that refuses externalIPs (DenyServiceExternalIPs, a policy) must still see the
            // Service's IP where every client reads it; the spec patch's refusal then fails this write and is retried.
            var wroteStatus = await WriteIngressAsync(service, current, ips, stale, cancellationToken).ConfigureAwait(false);
            var wroteSpec = options.SetExternalIps
                && await WriteExternalIpsAsync(service, current, ips, last, stale, cancellationToken).ConfigureAwait(false);
            if (!wroteSpec && !wroteStatus)
            {
                // The informer's copy is up to date, so there is nothing to remember it by.
                _written.TryRemove(service, out _);
                LogUnchanged(service, ips);
                return;
            }
        }
        catch (HttpOperationException failure) when (failure.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            _written.TryRemove(service, out _);
            StatusLog.ServiceGone(logger, service);
            return;
        }

        _written[service] = new Written(ips, version);
    }

    private async Task<bool> WriteIngressAsync(
        ServiceKey service, V1Service current, IReadOnlyList<IPAddress> ips, bool stale, CancellationToken cancellationToken)
    {
        if (!stale && LoadBalancerIngress.Holds(current, ips))
        {
            return false;
        }

        var patch = new V1Patch(LoadBalancerIngress.StatusPatch(current, ips), V1Patch.PatchType.MergePatch);
        await client.CoreV1.PatchNamespacedServiceStatusAsync(
            patch, service.Name, service.Namespace, fieldManager: options.FieldManager, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        if (ips.Count == 0)
        {
            StatusLog.IngressCleared(logger, service);
        }
        else
        {
            StatusLog.IngressWritten(logger, service, ips);
        }

        return true;
    }

    private async Task<bool> WriteExternalIpsAsync(
        ServiceKey service, V1Service current, IReadOnlyList<IPAddress> ips, Written? last, bool stale, CancellationToken cancellationToken)
    {
        var ours = LoadBalancerIngress.StatusIps(current).ToHashSet();
        ours.UnionWith(last?.Ips ?? []);
        var wanted = LoadBalancerIngress.ExternalIps(current, ips, ours);
        if (!stale && wanted.SequenceEqual(current.Spec?.ExternalIPs ?? []))
        {
            return false;
        }

        var patch = new V1Patch(LoadBalancerIngress.ExternalIpsPatch(wanted), V1Patch.PatchType.MergePatch);
        await client.CoreV1.PatchNamespacedServiceAsync(
            patch, service.Name, service.Namespace, fieldManager: options.FieldManager, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        StatusLog.ExternalIpsWritten(logger, service, wanted);
        return true;
    }

    private void LogUnchanged(ServiceKey service, IReadOnlyList<IPAddress> ips)
    {
        if (ips.Count == 0)
        {
            StatusLog.AlreadyCleared(logger, service);
        }
        else
        {
            StatusLog.Unchanged(logger, service, ips);
        }
    }

    /// <summary>What was last written (every IP, primary first), and the version of the Service the write was based on.</summary>
    private sealed record Written(IReadOnlyList<IPAddress> Ips, string? ResourceVersion);
}

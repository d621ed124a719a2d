using System.Net;
using System.Text.Json.Nodes;
using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Status;

/// <summary>
/// What <c>status.loadBalancer.ingress</c> and <c>spec.externalIPs</c> should hold for an assigned IP, whether a Service
/// already holds it, and the merge patches that put it there.
/// </summary>
internal static class LoadBalancerIngress
{
    /// <summary>The forwarder is a userspace proxy: traffic must reach this node, not be short-cut by kube-proxy.</summary>
    public const string ProxyMode = "Proxy";

    private const string DefaultProtocol = "TCP";

    public static IReadOnlyList<(int Port, string Protocol)> Ports(V1Service service) =>
        [.. (service.Spec?.Ports ?? []).Select(port => (port.Port, port.Protocol ?? DefaultProtocol)).Distinct()];

    /// <summary>
    /// True when the status shows exactly <paramref name="ips"/> in that order (or nothing, for none) with the Service's
    /// ports. A missing ipMode counts as ours: API servers before 1.29 drop the field, and writing it again would never
    /// make it stick.
    /// </summary>
    public static bool Holds(V1Service service, IReadOnlyList<IPAddress> ips)
    {
        var ingress = service.Status?.LoadBalancer?.Ingress ?? [];
        return ingress.Count == ips.Count && ingress.Zip(ips).All(pair => Holds(service, pair.First, pair.Second));
    }

    private static bool Holds(V1Service service, V1LoadBalancerIngress entry, IPAddress ip)
    {
        var ports = (entry.Ports ?? [])
            .Select(port => (port.Port, port.Protocol ?? DefaultProtocol, (string?)port.Error))
            .ToHashSet();
        var wanted = Ports(service).Select(port => (port.Port, port.Protocol, (string?)null)).ToHashSet();
        return IPAddress.TryParse(entry.Ip, out var current)
            && current.Equals(ip)
            && string.IsNullOrEmpty(entry.Hostname)
            && (entry.IpMode is null || entry.IpMode == ProxyMode)
            && ports.SetEquals(wanted);
    }

    /// <summary>A merge patch of the status; it replaces the whole ingress array.</summary>
    /// <remarks>One entry per IP, primary first: clients and kubectl take the first as the Service's address.</remarks>
    public static string StatusPatch(V1Service service, IReadOnlyList<IPAddress> ips)
    {
        var ingress = new JsonArray();
        foreach (var ip in ips)
        {
            var ports = new JsonArray();
            foreach (var (port, protocol) in Ports(service))
            {
                ports.Add(new JsonObject { ["port"] = port, ["protocol"] = protocol });
            }

            ingress.Add(new JsonObject { ["ip"] = ip.ToString(), ["ipMode"] = ProxyMode, ["ports"] = ports });
        }

        var patch = new JsonObject
        {
            ["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = ingress } },
        };
        return patch.ToJsonString();
    }

    /// <summary>
    /// The Service's external IPs with <paramref name="ours"/> taken out and <paramref name="ips"/> added at the end; the
    /// entries someone else put there keep their order.
    /// </summary>
    public static IReadOnlyList<string> ExternalIps(V1Service service, IReadOnlyList<IPAddress> ips, IReadOnlyCollection<IPAddress> ours)
    {
        var kept = (service.Spec?.ExternalIPs ?? [])
            .Where(entry => !IPAddress.TryParse(entry, out var address) || !ours.Contains(address))
            .ToList();
        foreach (var ip in ips)
        {
            if (!kept.Any(entry => IPAddress.TryParse(entry, out var address) && address.Equals(ip)))
            {
                kept.Add(ip.ToString());
            }
        }

        return kept;
    }

    /// <summary>The IPs this writer may have put into the Service: the ones its status names.</summary>
    public static IEnumerable<IPAddress> StatusIps(V1Service service) =>
        (service.Status?.LoadBalancer?.Ingress ?? [])
            .Select(entry => IPAddress.TryParse(entry.Ip, out var address) ? address : null)
            .OfType<IPAddress>();

    /// <summary>A merge patch of <c>spec.externalIPs</c>; an empty list removes the field.</summary>
    public static string ExternalIpsPatch(IReadOnlyList<string> externalIps)
    {
        JsonNode? list = externalIps.Count == 0 ? null : new JsonArray([.. externalIps.Select(entry => (JsonNode)JsonValue.Create(entry))]);
        var patch = new JsonObject { ["spec"] = new JsonObject { ["externalIPs"] = list } };
        return patch.ToJsonString();
    }
}

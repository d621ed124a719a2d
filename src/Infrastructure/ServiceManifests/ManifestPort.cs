using k8s.Models;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.ServiceManifests;

/// <summary>A port of a Service manifest that backends can be found for, with where it stands in <c>spec.ports</c>.</summary>
internal sealed record ManifestPort(V1ServicePort Port, int Index, ServicePort ServicePort)
{
    /// <summary>
    /// The ports of <c>spec.ports</c> backends can be found for: a known protocol, a number in range, the first of
    /// repeats. The others make the Service invalid, which the allocation request reports in its own words; every
    /// source skips them the same way.
    /// </summary>
    public static List<ManifestPort> Usable(IList<V1ServicePort>? ports)
    {
        var usable = new List<ManifestPort>();
        var seen = new HashSet<ServicePort>();
        for (var index = 0; index < (ports?.Count ?? 0); index++)
        {
            var port = ports![index];
            if (port is not null && port.Port is >= ServicePort.MinPort and <= ServicePort.MaxPort
                && TransportProtocolNames.TryParse(port.Protocol, out var protocol) && seen.Add(new ServicePort(protocol, port.Port)))
            {
                usable.Add(new ManifestPort(port, index, new ServicePort(protocol, port.Port)));
            }
        }

        return usable;
    }

    /// <summary>"spec.ports[1] (dns, 53/UDP)": how a message names a port.</summary>
    public string Describe() =>
        Port.Name is { Length: > 0 } name ? $"spec.ports[{Index}] ({name}, {ServicePort})" : $"spec.ports[{Index}] ({ServicePort})";
}

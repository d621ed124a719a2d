using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Services;

/// <summary>The backends one port of a Service forwards to. A port without an entry has no backends.</summary>
public sealed record PortBackends(ServicePort Port, IReadOnlyList<Endpoint> Endpoints);

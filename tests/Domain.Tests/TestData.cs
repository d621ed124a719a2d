using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Tests;

/// <summary>Short builders for requests, addresses and pools, and a readable projection of the allocator's leases.</summary>
internal static class TestData
{
    public const string DefaultPool = "192.168.0.224/28";

    public static ServiceKey Key(string name) => new("default", name);

    public static IPAddress Ip(string text) => IPAddress.Parse(text);

    public static IpPool Pool(string entries, string? exclusions = null)
    {
        var parsed = IpPool.Parse(entries, exclusions);
        Assert.True(parsed.Succeeded, string.Join("; ", parsed.Errors));
        return parsed.Pool!;
    }

    public static LoadBalancerRequest Tcp(string name, params int[] ports) =>
        new(Key(name), ports.Select(ServicePort.Tcp));

    public static LoadBalancerRequest Request(
        string name,
        IEnumerable<ServicePort> ports,
        string? ip = null,
        IpSharing? sharing = null,
        DateTimeOffset createdAt = default) =>
        new(Key(name), ports, ip is null ? null : Ip(ip), sharing, createdAt);

    /// <summary>Leases as text, e.g. <c>192.168.0.225 (shared): 80=default/a, 443=default/b</c>, one line per IP.</summary>
    public static string Describe(IEnumerable<IpLease> leases) =>
        string.Join(Environment.NewLine, leases.Select(lease =>
            $"{lease.Ip} ({lease.Sharing}): {string.Join(", ", lease.Ports.Select(port => $"{port.Binding.Port}={port.Owner}"))}"));

    public static string[] Texts(IEnumerable<PortBinding> bindings) => [.. bindings.Select(binding => binding.ToString())];
}

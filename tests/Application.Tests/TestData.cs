using System.Net;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Application.Tests;

/// <summary>Short builders for specs, pools and registries, and a readable projection of leases.</summary>
internal static class TestData
{
    public const string DefaultPool = AllocationOptions.DefaultPool;

    public static IPAddress Ip(string text) => IPAddress.Parse(text);

    public static IpPool Pool(string entries = DefaultPool, string? exclusions = null)
    {
        var parsed = IpPool.Parse(entries, exclusions);
        Assert.True(parsed.Succeeded, string.Join("; ", parsed.Errors));
        return parsed.Pool!;
    }

    public static AllocationRegistry Registry(string entries = DefaultPool) => new(Pool(entries));

    public static ServicePortSpec Tcp(int port) => new("TCP", port);

    public static ServicePortSpec Udp(int port) => new("UDP", port);

    /// <summary>A valid spec in namespace <c>default</c> with the given TCP ports (port 80 when none are given).</summary>
    public static ServiceSpec Spec(string name, params int[] ports) =>
        new("default", name, [.. (ports.Length == 0 ? [80] : ports).Select(Tcp)]);

    /// <summary>Leases as text, e.g. <c>192.168.0.225 (shared): 80=default/a, 443=default/b</c>, one line per IP.</summary>
    public static string Describe(IEnumerable<IpLease> leases) =>
        string.Join(Environment.NewLine, leases.Select(lease =>
            $"{lease.Ip} ({lease.Sharing}): {string.Join(", ", lease.Ports.Select(port => $"{port.Binding.Port}={port.Owner}"))}"));

    public static string[] Texts(IEnumerable<PortBinding> bindings) => [.. bindings.Select(binding => binding.ToString())];

    public static string[] Messages(IEnumerable<ValidationError> errors) => [.. errors.Select(error => error.Message)];
}

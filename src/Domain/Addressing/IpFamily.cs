using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Domain.Addressing;

/// <summary>An address family as a Service's <c>spec.ipFamilies</c> names it.</summary>
public enum IpFamily
{
    IPv4,
    IPv6,
}

/// <summary>How many families a Service wants, as <c>spec.ipFamilyPolicy</c> says.</summary>
public enum IpFamilyPolicy
{
    /// <summary>One address, of the first family asked for.</summary>
    SingleStack,

    /// <summary>One address of each family when the pools can give both, else the one they can.</summary>
    PreferDualStack,

    /// <summary>One address of each family, or none at all.</summary>
    RequireDualStack,
}

/// <summary>The spellings Kubernetes uses (<c>IPv4</c>, <c>IPv6</c>, <c>SingleStack</c>, ...), case-sensitive as the API server is.</summary>
public static class IpFamilies
{
    public static IReadOnlyList<IpFamily> All { get; } = [IpFamily.IPv4, IpFamily.IPv6];

    public static IpFamily Of(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == AddressFamily.InterNetworkV6 && !address.IsIPv4MappedToIPv6 ? IpFamily.IPv6 : IpFamily.IPv4;
    }

    public static IpFamily Other(IpFamily family) => family == IpFamily.IPv4 ? IpFamily.IPv6 : IpFamily.IPv4;

    public static string Name(IpFamily family) => family == IpFamily.IPv4 ? "IPv4" : "IPv6";

    public static string Name(IpFamilyPolicy policy) => policy.ToString();

    public static bool TryParse([NotNullWhen(true)] string? text, out IpFamily family)
    {
        switch (text)
        {
            case "IPv4":
                family = IpFamily.IPv4;
                return true;
            case "IPv6":
                family = IpFamily.IPv6;
                return true;
            default:
                family = default;
                return false;
        }
    }

    public static bool TryParsePolicy([NotNullWhen(true)] string? text, out IpFamilyPolicy policy)
    {
        switch (text)
        {
            case nameof(IpFamilyPolicy.SingleStack):
                policy = IpFamilyPolicy.SingleStack;
                return true;
            case nameof(IpFamilyPolicy.PreferDualStack):
                policy = IpFamilyPolicy.PreferDualStack;
                return true;
            case nameof(IpFamilyPolicy.RequireDualStack):
                policy = IpFamilyPolicy.RequireDualStack;
                return true;
            default:
                policy = default;
                return false;
        }
    }

    public const string PolicyNames = "SingleStack, PreferDualStack, RequireDualStack";
}

using System.Diagnostics.CodeAnalysis;
using System.Net;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Infrastructure.Admin;

/// <summary>Where the read-only admin endpoint listens: <c>IP:PORT</c> (<c>[IPv6]:PORT</c>), or <c>none</c> for nowhere.</summary>
public static class AdminAddress
{
    public const string Default = "127.0.0.1:9090";
    public const string None = "none";

    /// <param name="endPoint">Null for <c>none</c>.</param>
    /// <param name="problem">Why <paramref name="value"/> is not an address, naming it quoted.</param>
    public static bool TryParse(string? value, out IPEndPoint? endPoint, [NotNullWhen(false)] out string? problem)
    {
        endPoint = null;
        problem = null;
        var text = value?.Trim() ?? string.Empty;
        if (string.Equals(text, None, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!IPEndPoint.TryParse(text, out var parsed) || parsed.Port == 0 || !text.Contains(':', StringComparison.Ordinal)
            || (parsed.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !text.StartsWith('[')))
        {
            problem = $"{QuotedValue.Of(value ?? string.Empty)} is not IP:PORT ([IPv6]:PORT, port 1-65535) or \"none\"";
            return false;
        }

        endPoint = parsed;
        return true;
    }

    /// <summary>Whether only this machine can reach <paramref name="endPoint"/>.</summary>
    public static bool IsLoopback(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return IPAddress.IsLoopback(endPoint.Address);
    }

    /// <summary>The base URI of the endpoint, for clients (<c>loadbalancer status</c>).</summary>
    public static Uri BaseUri(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var host = endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
        if (endPoint.Address.Equals(IPAddress.Any))
        {
            host = "127.0.0.1";
        }
        else if (endPoint.Address.Equals(IPAddress.IPv6Any))
        {
            host = "[::1]";
        }

        return new Uri($"http://{host}:{endPoint.Port}/");
    }
}

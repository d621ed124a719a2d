using System.Globalization;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// Reads <c>IP:PORT</c> as operators write it: <c>127.0.0.1:9001</c>, <c>[::1]:9001</c>, or a bare address when a
/// default port is known.
/// </summary>
public static class EndpointText
{
    /// <param name="defaultPort">The port of an entry written without one; null when a port is required.</param>
    /// <param name="error">Why the text is not an endpoint, naming the text.</param>
    public static bool TryParse(string? text, int? defaultPort, out Endpoint endpoint, out string error)
    {
        endpoint = null!;
        error = string.Empty;
        var trimmed = text?.Trim() ?? string.Empty;
        string address;
        string? port;
        if (trimmed.StartsWith('['))
        {
            var close = trimmed.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || (close + 1 < trimmed.Length && trimmed[close + 1] != ':'))
            {
                error = $"{QuotedValue.Of(text)} is not IP:PORT ([v6]:PORT for IPv6)";
                return false;
            }

            address = trimmed[1..close];
            port = close + 1 < trimmed.Length ? trimmed[(close + 2)..] : null;
        }
        else if (trimmed.Count(character => character == ':') == 1)
        {
            var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
            address = trimmed[..colon];
            port = trimmed[(colon + 1)..];
        }
        else
        {
            address = trimmed;
            port = null;
        }

        if (!IpAddressText.TryParse(address, out var ip))
        {
            error = $"{QuotedValue.Of(text)}: {IpAddressText.InvalidAddressMessage(QuotedValue.Of(address))}";
            return false;
        }

        int number;
        if (port is null)
        {
            if (defaultPort is not { } fallback)
            {
                error = ip.AddressFamily == AddressFamily.InterNetworkV6
                    ? $"{QuotedValue.Of(text)} has no port; write [{ip}]:PORT"
                    : $"{QuotedValue.Of(text)} has no port; write {ip}:PORT";
                return false;
            }

            number = fallback;
        }
        else if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out number)
            || number is < ServicePort.MinPort or > ServicePort.MaxPort)
        {
            error = $"{QuotedValue.Of(text)}: port {QuotedValue.Of(port)} must be a number from {ServicePort.MinPort} to {ServicePort.MaxPort}";
            return false;
        }

        endpoint = new Endpoint(ip, number);
        return true;
    }
}

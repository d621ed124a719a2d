using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Domain.Addressing;

/// <summary>
/// Strict address parsing. <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> accepts forms such as
/// "10.1" or "0x0a000001" that an operator never means as a load-balancer address; these are refused here.
/// </summary>
public static class IpAddressText
{
    public static bool TryParse(string? text, out IPAddress address)
    {
        address = IPAddress.None;
        if (string.IsNullOrWhiteSpace(text) || text.Trim() != text)
        {
            return false;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            // IPAddress.TryParse also takes "[v6]" and "[v6]:port" (dropping the port) and "%scope": none is an address here.
            if (text.AsSpan().IndexOfAny("%[]/") >= 0 || !IPAddress.TryParse(text, out var v6)
                || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }

            address = v6.IsIPv4MappedToIPv6 ? v6.MapToIPv4() : v6;
            return true;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
        {
            var part = parts[i];
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit) || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            var value = int.Parse(part, System.Globalization.CultureInfo.InvariantCulture);
            if (value > 255)
            {
                return false;
            }

            bytes[i] = (byte)value;
        }

        address = new IPAddress(bytes);
        return true;
    }

    /// <summary>The operators' wording for an address that does not parse.</summary>
    public static string InvalidAddressMessage(string? text) => $"invalid IP address: {text}";
}

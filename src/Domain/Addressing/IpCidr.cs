using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Domain.Addressing;

/// <summary>
/// An IPv4 or IPv6 network in CIDR notation (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>), as a Service's
/// <c>loadBalancerSourceRanges</c> lists them. The network is kept with its host bits cleared.
/// </summary>
public readonly record struct IpCidr
{
    private IpCidr(AddressFamily family, UInt128 network, int prefixLength)
    {
        Family = family;
        NetworkValue = network;
        PrefixLength = prefixLength;
    }

    public AddressFamily Family { get; }

    public int PrefixLength { get; }

    public bool IsV6 => Family == AddressFamily.InterNetworkV6;

    /// <summary>The network as a number, host bits clear (an IPv4 network in the low 32 bits).</summary>
    public UInt128 NetworkValue { get; }

    public int Bits => IsV6 ? 128 : 32;

    /// <summary>The prefix as a mask over <see cref="Bits"/> bits (IPv4 in the low 32 bits).</summary>
    public UInt128 Mask => MaskOf(PrefixLength, Bits);

    public IPAddress Network => new IpNumber(IsV6, NetworkValue).ToAddress();

    /// <summary>
    /// Parses <c>address/prefix</c>: the address strict (<see cref="IpAddressText"/>), the prefix a decimal number up to
    /// the family's width. Host bits set (<c>10.0.0.1/8</c>) are accepted and cleared, as Kubernetes' validation of
    /// <c>loadBalancerSourceRanges</c> accepts them; <paramref name="hadHostBits"/> says so. An IPv4-mapped IPv6 prefix
    /// (<c>::ffff:10.0.0.0/104</c>) is refused: write the IPv4 network.
    /// </summary>
    /// <param name="reason">Why <paramref name="text"/> is not a CIDR, when it is not.</param>
    public static bool TryParse(string? text, out IpCidr cidr, out bool hadHostBits, out string reason)
    {
        cidr = default;
        hadHostBits = false;
        reason = string.Empty;
        if (string.IsNullOrEmpty(text))
        {
            reason = "it is empty";
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            reason = "a CIDR is an address, '/' and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32";
            return false;
        }

        var addressText = text[..slash];
        var prefixText = text[(slash + 1)..];
        if (!IpAddressText.TryParse(addressText, out var address))
        {
            reason = IpAddressText.InvalidAddressMessage(addressText);
            return false;
        }

        if (addressText.Contains(':', StringComparison.Ordinal) && address.AddressFamily == AddressFamily.InterNetwork)
        {
            reason = $"an IPv4-mapped IPv6 prefix is not accepted; write the IPv4 network ({address}/...)";
            return false;
        }

        var number = IpNumber.From(address);
        if (prefixText.Length is 0 or > 3 || !prefixText.All(char.IsAsciiDigit) || (prefixText.Length > 1 && prefixText[0] == '0')
            || !int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            || prefix > number.Bits)
        {
            reason = $"prefix length '{prefixText}' must be a number from 0 to {number.Bits}";
            return false;
        }

        var mask = MaskOf(prefix, number.Bits);
        hadHostBits = (number.Value & ~mask & number.FamilyMax) != 0;
        cidr = new IpCidr(number.Family, number.Value & mask, prefix);
        return true;
    }

    /// <summary>Parses a CIDR that is known to be valid (it passed validation); throws otherwise.</summary>
    public static IpCidr Parse(string text) =>
        TryParse(text?.Trim(), out var cidr, out _, out var reason)
            ? cidr
            : throw new FormatException($"{QuotedValue.Of(text)} is not a CIDR: {reason}");

    /// <summary>Whether <paramref name="address"/> is in the network; an IPv4-mapped IPv6 address counts as its IPv4 address.</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var number = IpNumber.From(address);
        return number.IsV6 == IsV6 && (number.Value & Mask) == NetworkValue;
    }

    /// <summary>The network's address bytes in network order (4 or 16).</summary>
    public byte[] NetworkBytes()
    {
        var bytes = new byte[IsV6 ? 16 : 4];
        if (IsV6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(bytes, NetworkValue);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)NetworkValue);
        }

        return bytes;
    }

    public override string ToString() => $"{Network}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    private static UInt128 MaskOf(int prefix, int bits)
    {
        var familyMax = bits == 128 ? UInt128.MaxValue : uint.MaxValue;
        var hostBits = bits - prefix;

        // A shift by the full width is a shift by zero in .NET, so the /0 mask is written out.
        return hostBits >= bits ? UInt128.Zero : familyMax & ~((UInt128.One << hostBits) - 1);
    }
}

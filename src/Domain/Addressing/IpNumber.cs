using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Domain.Addressing;

/// <summary>
/// An address as a number, so that pools, cursors and ordered sets compare integers rather than byte arrays.
/// IPv4 orders before IPv6; within a family the order is numeric.
/// </summary>
internal readonly record struct IpNumber(bool IsV6, UInt128 Value) : IComparable<IpNumber>
{
    private static readonly UInt128 MaxV4 = uint.MaxValue;

    public UInt128 FamilyMax => IsV6 ? UInt128.MaxValue : MaxV4;

    public int Bits => IsV6 ? 128 : 32;

    public static IpNumber From(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new ArgumentException($"cannot read address {address}", nameof(address));
        }

        return written == 4
            ? new IpNumber(false, BinaryPrimitives.ReadUInt32BigEndian(bytes))
            : new IpNumber(true, BinaryPrimitives.ReadUInt128BigEndian(bytes));
    }

    public IPAddress ToAddress()
    {
        if (!IsV6)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)Value);
            return new IPAddress(v4);
        }

        Span<byte> v6 = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(v6, Value);
        return new IPAddress(v6);
    }

    public AddressFamily Family => IsV6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;

    public IpNumber Next() => this with { Value = Value + 1 };

    public IpNumber Previous() => this with { Value = Value - 1 };

    public int CompareTo(IpNumber other) =>
        IsV6 == other.IsV6 ? Value.CompareTo(other.Value) : (IsV6 ? 1 : -1);

    public static bool operator <(IpNumber left, IpNumber right) => left.CompareTo(right) < 0;

    public static bool operator >(IpNumber left, IpNumber right) => left.CompareTo(right) > 0;

    public static bool operator <=(IpNumber left, IpNumber right) => left.CompareTo(right) <= 0;

    public static bool operator >=(IpNumber left, IpNumber right) => left.CompareTo(right) >= 0;

    public override string ToString() => ToAddress().ToString();
}

/// <summary>An inclusive range of addresses of one family.</summary>
internal readonly record struct IpNumberRange(IpNumber First, IpNumber Last)
{
    public bool Contains(IpNumber address) => address >= First && address <= Last;

    /// <summary>The number of addresses, saturating at <see cref="UInt128.MaxValue"/> for a whole IPv6 space.</summary>
    public UInt128 Count => Last.Value - First.Value == UInt128.MaxValue ? UInt128.MaxValue : Last.Value - First.Value + 1;
}

using System.Globalization;
using System.Net;

namespace LoadBalancer.Domain.Addressing;

/// <summary>
/// The addresses the load balancer may hand out: CIDRs, <c>first-last</c> ranges and single addresses, IPv4 and IPv6,
/// less excluded addresses. For IPv4 prefixes shorter than /31 the network and broadcast addresses are never handed out.
/// </summary>
public sealed class IpPool
{
    private readonly IpNumberRange[] _declared;
    private readonly IpNumberRange[] _allocatable;
    private readonly IpNumberRange[] _excluded;

    private IpPool(IReadOnlyList<string> entries, IReadOnlyList<string> exclusions,
        IpNumberRange[] declared, IpNumberRange[] allocatable, IpNumberRange[] excluded)
    {
        Entries = entries;
        Exclusions = exclusions;
        _declared = declared;
        _allocatable = allocatable;
        _excluded = excluded;
        var size = UInt128.Zero;
        foreach (var range in allocatable)
        {
            var count = range.Count;
            size = UInt128.MaxValue - size < count ? UInt128.MaxValue : size + count;
        }

        Size = size;
    }

    /// <summary>The entries as configured, normalised (for messages and logs).</summary>
    public IReadOnlyList<string> Entries { get; }

    public IReadOnlyList<string> Exclusions { get; }

    /// <summary>How many addresses can be handed out (saturates for huge IPv6 pools).</summary>
    public UInt128 Size { get; }

    internal ReadOnlySpan<IpNumberRange> AllocatableRanges => _allocatable;

    /// <summary>Parses a comma-separated list such as <c>192.168.0.224/28, 10.0.0.5-10.0.0.9</c>.</summary>
    public static IpPoolParseResult Parse(string entries, string? exclusions = null) =>
        Parse(SplitList(entries), exclusions is null ? [] : SplitList(exclusions));

    public static IpPoolParseResult Parse(IEnumerable<string> entries, IEnumerable<string>? exclusions = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var errors = new List<string>();
        var declared = new List<IpNumberRange>();
        var allocatable = new List<IpNumberRange>();
        var names = new List<string>();
        foreach (var entry in entries)
        {
            if (TryParseEntry(entry, "pool entry", errors, out var parsed))
            {
                names.Add(parsed.Text);
                declared.Add(parsed.Range);
                allocatable.Add(parsed.Usable);
            }
        }

        if (names.Count == 0 && errors.Count == 0)
        {
            errors.Add("pool: at least one CIDR or range is required");
        }

        var excluded = new List<IpNumberRange>();
        var exclusionNames = new List<string>();
        foreach (var exclusion in exclusions ?? [])
        {
            if (TryParseEntry(exclusion, "excluded entry", errors, out var parsed))
            {
                exclusionNames.Add(parsed.Text);
                excluded.Add(parsed.Range);
            }
        }

        if (errors.Count > 0)
        {
            return new IpPoolParseResult(null, errors);
        }

        var mergedExcluded = Merge(excluded);
        var usable = Subtract(Merge(allocatable), mergedExcluded);
        if (usable.Length == 0)
        {
            return new IpPoolParseResult(null,
                [$"pool '{string.Join(", ", names)}' has no usable address once network, broadcast and excluded addresses are removed"]);
        }

        return new IpPoolParseResult(new IpPool(names, exclusionNames, Merge(declared), usable, mergedExcluded), []);
    }

    /// <summary>Whether <paramref name="address"/> may be handed out, and if not, why not.</summary>
    public PoolMembership Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var number = IpNumber.From(address);
        if (IsAllocatable(number))
        {
            return PoolMembership.Allocatable;
        }

        if (FindContaining(_declared, number) < 0)
        {
            return PoolMembership.OutsidePool;
        }

        return FindContaining(_excluded, number) >= 0 ? PoolMembership.Excluded : PoolMembership.NetworkOrBroadcast;
    }

    /// <summary>Null when <paramref name="address"/> may be handed out, else the reason in operators' wording.</summary>
    public string? CheckAllocatable(IPAddress address) => Explain(address, Classify(address));

    internal string? Explain(IPAddress address, PoolMembership membership) => membership switch
    {
        PoolMembership.OutsidePool => $"IP {address} is not in CIDR range {this}",
        PoolMembership.Excluded => $"IP {address} is excluded from the pool",
        PoolMembership.NetworkOrBroadcast => $"IP {address} is a network or broadcast address",
        _ => null,
    };

    /// <summary>The lowest <paramref name="count"/> addresses that can be handed out, in order.</summary>
    public IReadOnlyList<IPAddress> FirstAddresses(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var addresses = new List<IPAddress>(count);
        foreach (var range in _allocatable)
        {
            for (var address = range.First; addresses.Count < count; address = address.Next())
            {
                addresses.Add(address.ToAddress());
                if (address == range.Last)
                {
                    break;
                }
            }
        }

        return addresses;
    }

    public bool Contains(IPAddress address) => IsAllocatable(IpNumber.From(address));

    /// <summary>Whether any address of <paramref name="family"/> can be handed out.</summary>
    public bool Has(IpFamily family) => _allocatable.Any(range => range.First.IsV6 == (family == IpFamily.IPv6));

    /// <summary>
    /// The same pool with only the entries and exclusions of <paramref name="family"/>, or null when it has no address of
    /// that family to hand out. Each entry parses alone (network and broadcast are per entry), so the addresses of the
    /// family are exactly the ones this pool hands out.
    /// </summary>
    public IpPool? OfFamily(IpFamily family)
    {
        if (!Has(family))
        {
            return null;
        }

        if (!Has(IpFamilies.Other(family)))
        {
            return this;
        }

        bool InFamily(string entry) => TryParseEntry(entry, out var parsed, out _) && parsed.Range.First.IsV6 == (family == IpFamily.IPv6);
        return Parse(Entries.Where(InFamily), Exclusions.Where(InFamily)).Pool;
    }

    /// <summary>The lowest address both pools can hand out, or null when they share none.</summary>
    public IPAddress? FirstCommonAddress(IpPool other)
    {
        ArgumentNullException.ThrowIfNull(other);
        int i = 0, j = 0;
        while (i < _allocatable.Length && j < other._allocatable.Length)
        {
            var (mine, theirs) = (_allocatable[i], other._allocatable[j]);
            var first = mine.First > theirs.First ? mine.First : theirs.First;
            var last = mine.Last < theirs.Last ? mine.Last : theirs.Last;
            if (first <= last)
            {
                return first.ToAddress();
            }

            if (mine.Last < theirs.Last)
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return null;
    }

    internal bool IsAllocatable(IpNumber number) => FindContaining(_allocatable, number) >= 0;

    public override string ToString() => string.Join(", ", Entries);

    private static int FindContaining(IpNumberRange[] ranges, IpNumber number)
    {
        int low = 0, high = ranges.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            var range = ranges[middle];
            if (number < range.First)
            {
                high = middle - 1;
            }
            else if (number > range.Last)
            {
                low = middle + 1;
            }
            else
            {
                return middle;
            }
        }

        return -1;
    }

    private static string[] SplitList(string list) =>
        list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private readonly record struct ParsedEntry(string Text, IpNumberRange Range, IpNumberRange Usable);

    /// <summary>Null when <paramref name="entry"/> is a CIDR, a <c>first-last</c> range or an address; else why not.</summary>
    public static string? EntryProblem(string? entry) => TryParseEntry(entry, out _, out var reason) ? null : reason;

    private static bool TryParseEntry(string? raw, string what, List<string> errors, out ParsedEntry parsed)
    {
        if (TryParseEntry(raw, out parsed, out var reason))
        {
            return true;
        }

        errors.Add($"{what} '{raw?.Trim()}': {reason}");
        return false;
    }

    private static bool TryParseEntry(string? raw, out ParsedEntry parsed, out string reason)
    {
        parsed = default;
        reason = string.Empty;
        var text = raw?.Trim() ?? string.Empty;
        if (text.Length == 0)
        {
            reason = "empty entry";
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            return TryParseCidr(text, slash, out parsed, out reason);
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash >= 0)
        {
            var firstText = text[..dash].Trim();
            var lastText = text[(dash + 1)..].Trim();
            if (!IpAddressText.TryParse(firstText, out var firstAddress))
            {
                reason = IpAddressText.InvalidAddressMessage(firstText);
                return false;
            }

            if (!IpAddressText.TryParse(lastText, out var lastAddress))
            {
                reason = IpAddressText.InvalidAddressMessage(lastText);
                return false;
            }

            var first = IpNumber.From(firstAddress);
            var last = IpNumber.From(lastAddress);
            if (first.IsV6 != last.IsV6)
            {
                reason = "both ends of a range must be of the same address family";
                return false;
            }

            if (first > last)
            {
                reason = $"the first address {first} is above the last address {last}";
                return false;
            }

            var range = new IpNumberRange(first, last);
            parsed = new ParsedEntry($"{first}-{last}", range, range);
            return true;
        }

        if (!IpAddressText.TryParse(text, out var single))
        {
            reason = IpAddressText.InvalidAddressMessage(text);
            return false;
        }

        var only = IpNumber.From(single);
        parsed = new ParsedEntry(only.ToString(), new IpNumberRange(only, only), new IpNumberRange(only, only));
        return true;
    }

    private static bool TryParseCidr(string text, int slash, out ParsedEntry parsed, out string reason)
    {
        parsed = default;
        reason = string.Empty;
        var addressText = text[..slash];
        var prefixText = text[(slash + 1)..];
        if (!IpAddressText.TryParse(addressText, out var address))
        {
            reason = IpAddressText.InvalidAddressMessage(addressText);
            return false;
        }

        var network = IpNumber.From(address);
        if (prefixText.Length is 0 or > 3 || !prefixText.All(char.IsAsciiDigit) || (prefixText.Length > 1 && prefixText[0] == '0')
            || !int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            || prefix > network.Bits)
        {
            reason = $"prefix length '{prefixText}' must be a number from 0 to {network.Bits}";
            return false;
        }

        var hostBits = network.Bits - prefix;
        var hostMask = hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        if ((network.Value & hostMask) != 0)
        {
            var expected = network with { Value = network.Value & ~hostMask };
            reason = $"host bits are set; the network is {expected}/{prefix}";
            return false;
        }

        var range = new IpNumberRange(network, network with { Value = network.Value | hostMask });
        var usable = !network.IsV6 && prefix < 31
            ? new IpNumberRange(range.First.Next(), range.Last.Previous())
            : range;
        parsed = new ParsedEntry($"{network}/{prefix}", range, usable);
        return true;
    }

    private static IpNumberRange[] Merge(List<IpNumberRange> ranges)
    {
        ranges.Sort((a, b) => a.First.CompareTo(b.First));
        var merged = new List<IpNumberRange>(ranges.Count);
        foreach (var range in ranges)
        {
            if (merged.Count > 0)
            {
                var last = merged[^1];
                var touches = last.Last.IsV6 == range.First.IsV6
                    && (last.Last.Value == last.Last.FamilyMax || range.First <= last.Last.Next());
                if (touches)
                {
                    if (range.Last > last.Last)
                    {
                        merged[^1] = last with { Last = range.Last };
                    }

                    continue;
                }
            }

            merged.Add(range);
        }

        return [.. merged];
    }

    private static IpNumberRange[] Subtract(IpNumberRange[] ranges, IpNumberRange[] removed)
    {
        var result = new List<IpNumberRange>(ranges.Length);
        foreach (var range in ranges)
        {
            var pieces = new List<IpNumberRange> { range };
            foreach (var cut in removed)
            {
                var next = new List<IpNumberRange>(pieces.Count + 1);
                foreach (var piece in pieces)
                {
                    if (cut.Last < piece.First || cut.First > piece.Last)
                    {
                        next.Add(piece);
                        continue;
                    }

                    if (cut.First > piece.First)
                    {
                        next.Add(piece with { Last = cut.First.Previous() });
                    }

                    if (cut.Last < piece.Last)
                    {
                        next.Add(piece with { First = cut.Last.Next() });
                    }
                }

                pieces = next;
            }

            result.AddRange(pieces);
        }

        return [.. result];
    }
}

/// <summary>A pool, or every reason the text does not describe one.</summary>
public sealed record IpPoolParseResult(IpPool? Pool, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Pool is not null;
}

public enum PoolMembership
{
    Allocatable,
    OutsidePool,
    NetworkOrBroadcast,
    Excluded,
}

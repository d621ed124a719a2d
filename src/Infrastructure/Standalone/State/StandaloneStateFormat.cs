using System.Collections.Immutable;
using System.Net;
using System.Text.Json;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Standalone.State;

/// <summary>
/// The state file's format, version 1: <c>{"version":1,"services":[{"namespace":…,"name":…,"ip":…}]}</c>, sorted by
/// namespace then name. Read forgivingly (comments, trailing commas, a byte-order mark, unknown fields): an operator
/// may have edited it, and one unusable entry costs that entry, not every IP.
/// </summary>
internal static class StandaloneStateFormat
{
    public const int Version = 1;

    private static readonly JsonDocumentOptions ReadOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static void Write(Stream stream, ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>> state)
    {
        // The dictionary is ordered by ServiceKey: namespace, then name, as the format promises.
        var document = new StandaloneStateDocument(
            Version,
            state.Select(pair => new StandaloneStateEntry(pair.Key.Namespace, pair.Key.Name, pair.Value[0].ToString())
            {
                Ips = pair.Value.Count > 1 ? [.. pair.Value.Select(ip => ip.ToString())] : null,
            }).ToList());
        JsonSerializer.Serialize(stream, document, StandaloneStateJson.Default.StandaloneStateDocument);
        stream.WriteByte((byte)'\n');
    }

    /// <returns>The state, or why the file as a whole is unreadable.</returns>
    /// <param name="skipped">Told of each entry left out: where it is, and why.</param>
    public static (ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>> State, string? Reason) Parse(ReadOnlyMemory<byte> bytes, Action<string, string> skipped)
    {
        if (bytes.Length == 0)
        {
            return (ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>.Empty, "the file is empty");
        }

        // An editor may have saved it with a byte-order mark, which the JSON reader refuses.
        if (bytes.Span.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }

        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(bytes, ReadOptions);
        }
        catch (JsonException failure)
        {
            return (ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>.Empty, $"not valid JSON: {failure.Message}");
        }

        using (parsed)
        {
            var root = parsed.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>.Empty, $"the top level is {Describe(root)}, not an object with \"version\" and \"services\"");
            }

            if (!root.TryGetProperty("version", out var version))
            {
                return (ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>.Empty, $"\"version\" is missing; this build reads version {Version}");
            }

            if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var number) || number != Version)
            {
                return (ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>.Empty, $"version '{Shorten(version.GetRawText())}' is not known; this build reads version {Version}");
            }

            if (!root.TryGetProperty("services", out var services) || services.ValueKind == JsonValueKind.Null)
            {
                return (ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>.Empty, null);
            }

            if (services.ValueKind != JsonValueKind.Array)
            {
                return (ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>.Empty, $"\"services\" is {Describe(services)}, not a list");
            }

            return (ReadEntries(services, skipped), null);
        }
    }

    private static ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>> ReadEntries(JsonElement services, Action<string, string> skipped)
    {
        var state = ImmutableSortedDictionary.CreateBuilder<ServiceKey, IReadOnlyList<IPAddress>>();
        var firstSeen = new Dictionary<ServiceKey, int>();
        var index = 0;
        foreach (var element in services.EnumerateArray())
        {
            var where = $"services[{index}]";
            var position = index++;
            if (element.ValueKind != JsonValueKind.Object)
            {
                skipped(where, $"'{Shorten(element.GetRawText())}' is not an object with namespace, name and ip");
                continue;
            }

            var problems = new List<string>();
            var ns = ReadText(element, "namespace", problems);
            var name = ReadText(element, "name", problems);
            var ipText = ReadText(element, "ip", problems);
            if (ns is not null && !IsDnsLabel(ns))
            {
                problems.Add($"namespace '{ns}' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit");
            }

            if (name is not null && !IsDnsLabel(name))
            {
                problems.Add($"name '{name}' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit");
            }

            var address = IPAddress.None;
            if (ipText is not null && !IpAddressText.TryParse(ipText, out address))
            {
                problems.Add($"ip '{ipText}' is not an IP address");
            }

            IReadOnlyList<IPAddress> addresses = [address];
            if (element.TryGetProperty("ips", out var ipsElement))
            {
                addresses = ReadIps(ipsElement, address, problems);
            }

            if (!string.IsNullOrEmpty(ns) && !string.IsNullOrEmpty(name))
            {
                where = $"{where} ({ns}/{name})";
            }

            if (problems.Count == 0)
            {
                var key = new ServiceKey(ns!, name!);
                if (firstSeen.TryGetValue(key, out var first))
                {
                    problems.Add($"{key} is already recorded by services[{first}]");
                }
                else
                {
                    firstSeen.Add(key, position);
                    state.Add(key, addresses);
                }
            }

            if (problems.Count > 0)
            {
                skipped(where, string.Join("; ", problems));
            }
        }

        return state.ToImmutable();
    }

    /// <summary>A dual-stack entry's "ips": addresses, primary first, which must start with "ip".</summary>
    private static List<IPAddress> ReadIps(JsonElement ips, IPAddress primary, List<string> problems)
    {
        if (ips.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"ips '{Shorten(ips.GetRawText())}' is not a list");
            return [];
        }

        var list = new List<IPAddress>();
        foreach (var item in ips.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !IpAddressText.TryParse(item.GetString(), out var ip))
            {
                problems.Add($"ips entry '{Shorten(item.GetRawText())}' is not an IP address");
                continue;
            }

            list.Add(ip);
        }

        if (problems.Count == 0 && (list.Count == 0 || !list[0].Equals(primary)))
        {
            problems.Add($"ips '{Shorten(ips.GetRawText())}' must start with ip '{primary}'");
        }

        return list;
    }

    private static string? ReadText(JsonElement entry, string field, List<string> problems)
    {
        if (!entry.TryGetProperty(field, out var value))
        {
            problems.Add($"{field} is missing");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{field} '{Shorten(value.GetRawText())}' is not a string");
            return null;
        }

        return value.GetString();
    }

    /// <summary>
    /// The rule ServiceSpecValidator applies to a Service's namespace and name (internal to Application), so every
    /// Service that can be applied can be recorded, and nothing else is read back.
    /// </summary>
    private static bool IsDnsLabel(string value) =>
        value.Length is >= 1 and <= 63
        && (char.IsAsciiLetterLower(value[0]) || char.IsAsciiDigit(value[0]))
        && (char.IsAsciiLetterLower(value[^1]) || char.IsAsciiDigit(value[^1]))
        && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => "a list",
        JsonValueKind.String => $"the string '{Shorten(element.GetString() ?? string.Empty)}'",
        _ => $"'{Shorten(element.GetRawText())}'",
    };

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}

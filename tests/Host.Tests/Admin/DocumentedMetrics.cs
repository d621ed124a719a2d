using System.Text.RegularExpressions;

namespace LoadBalancer.Host.Tests.Admin;

/// <summary>The metric names of docs/observability.md's table, which operators read to write their queries.</summary>
internal static partial class DocumentedMetrics
{
    public static IReadOnlySet<string> Names { get; } = Read();

    /// <summary>The family a sample belongs to: a histogram's <c>_bucket</c>, <c>_sum</c> and <c>_count</c> are one metric.</summary>
    public static string Family(string sample) => HistogramPart().Replace(sample, string.Empty);

    private static HashSet<string> Read()
    {
        var text = File.ReadAllText(LoadBalancer.Tests.Shared.RepositoryRoot.Combine("docs", "observability.md"));
        var names = TableRow().Matches(text).Select(match => match.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);
        Assert.True(names.Count > 10, $"docs/observability.md's metric table has {names.Count} rows");
        return names;
    }

    [GeneratedRegex(@"^\| `(?<name>[a-z_]+)` \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramPart();
}

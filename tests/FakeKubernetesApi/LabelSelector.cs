namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>
/// A Kubernetes label selector: comma-separated requirements, all of which must hold.
/// Equality (<c>a=b</c>, <c>a==b</c>, <c>a!=b</c>), existence (<c>a</c>, <c>!a</c>) and sets
/// (<c>a in (x,y)</c>, <c>a notin (x)</c>). Also serves field selectors, whose keys are field paths.
/// </summary>
internal sealed class LabelSelector
{
    public static readonly LabelSelector Everything = new([]);

    private readonly IReadOnlyList<Requirement> _requirements;

    private LabelSelector(IReadOnlyList<Requirement> requirements) => _requirements = requirements;

    public bool IsEverything => _requirements.Count == 0;

    public IEnumerable<string> Keys => _requirements.Select(requirement => requirement.Key);

    /// <summary>True when every requirement holds; <paramref name="valueOf"/> gives a key's value or null when absent.</summary>
    public bool Matches(Func<string, string?> valueOf) => _requirements.All(requirement => requirement.Matches(valueOf(requirement.Key)));

    public bool Matches(IReadOnlyDictionary<string, string> labels) =>
        Matches(key => labels.TryGetValue(key, out var value) ? value : null);

    public static bool TryParse(string? text, out LabelSelector selector, out string error)
    {
        selector = Everything;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        var requirements = new List<Requirement>();
        foreach (var term in SplitTopLevel(text))
        {
            var requirement = ParseTerm(term.Trim());
            if (requirement is null)
            {
                error = $"unable to parse requirement: \"{term.Trim()}\"";
                return false;
            }

            requirements.Add(requirement);
        }

        selector = new LabelSelector(requirements);
        return true;
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i];
                    start = i + 1;
                    break;
            }
        }

        yield return text[start..];
    }

    private static Requirement? ParseTerm(string term)
    {
        if (term.Length == 0)
        {
            return null;
        }

        if (term[0] == '!')
        {
            var key = term[1..].Trim();
            return IsKey(key) ? new Requirement(key, Operator.DoesNotExist, []) : null;
        }

        foreach (var (symbol, op) in new[] { ("!=", Operator.NotEquals), ("==", Operator.Equals), ("=", Operator.Equals) })
        {
            var at = term.IndexOf(symbol, StringComparison.Ordinal);
            if (at > 0)
            {
                var key = term[..at].Trim();
                var value = term[(at + symbol.Length)..].Trim();
                return IsKey(key) && !value.Contains('=', StringComparison.Ordinal) ? new Requirement(key, op, [value]) : null;
            }
        }

        var words = term.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 1)
        {
            return IsKey(words[0]) ? new Requirement(words[0], Operator.Exists, []) : null;
        }

        var rest = words[1];
        var setOperator = rest.StartsWith("notin", StringComparison.Ordinal) ? Operator.NotIn
            : rest.StartsWith("in", StringComparison.Ordinal) ? Operator.In
            : (Operator?)null;
        if (setOperator is null)
        {
            return null;
        }

        var set = rest[(setOperator == Operator.In ? 2 : 5)..].Trim();
        if (!IsKey(words[0]) || set.Length < 2 || set[0] != '(' || set[^1] != ')')
        {
            return null;
        }

        var values = set[1..^1].Split(',', StringSplitOptions.TrimEntries);
        return new Requirement(words[0], setOperator.Value, values);
    }

    private static bool IsKey(string key) =>
        key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/');

    private enum Operator
    {
        Equals,
        NotEquals,
        Exists,
        DoesNotExist,
        In,
        NotIn,
    }

    private sealed record Requirement(string Key, Operator Operator, IReadOnlyList<string> Values)
    {
        public bool Matches(string? value) => Operator switch
        {
            Operator.Equals => value == Values[0],
            Operator.NotEquals => value != Values[0],
            Operator.Exists => value is not null,
            Operator.DoesNotExist => value is null,
            Operator.In => value is not null && Values.Contains(value),
            Operator.NotIn => value is null || !Values.Contains(value),
            _ => false,
        };
    }
}

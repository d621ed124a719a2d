using System.Diagnostics.CodeAnalysis;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>
/// A Kubernetes label selector of the equality kind: <c>key</c>, <c>!key</c>, <c>key=value</c> (or <c>==</c>),
/// <c>key!=value</c>, comma-separated, every requirement must hold. The set kind (<c>key in (a,b)</c>) is not
/// supported. As in Kubernetes, <c>key!=value</c> also matches objects without the label.
/// </summary>
internal sealed class NodeSelector
{
    private const int MaxNameLength = 63;
    private const int MaxPrefixLength = 253;

    private readonly IReadOnlyList<Requirement> _requirements;

    private NodeSelector(string text, IReadOnlyList<Requirement> requirements)
    {
        Text = text;
        _requirements = requirements;
    }

    public static NodeSelector Everything { get; } = new(string.Empty, []);

    public string Text { get; }

    private enum Operator
    {
        Exists,
        DoesNotExist,
        EqualTo,
        NotEqualTo,
    }

    /// <exception cref="FormatException">The text is no selector; the message names it and the requirement at fault.</exception>
    public static NodeSelector Parse(string? text) =>
        TryParse(text, out var selector, out var error) ? selector : throw new FormatException(error);

    /// <param name="error">What is wrong, naming the whole text and the requirement at fault.</param>
    public static bool TryParse(string? text, [NotNullWhen(true)] out NodeSelector? selector, [NotNullWhen(false)] out string? error)
    {
        selector = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            selector = Everything;
            return true;
        }

        var requirements = new List<Requirement>();
        foreach (var rawTerm in text.Split(','))
        {
            var term = rawTerm.Trim();
            var problem = ParseRequirement(term, out var requirement);
            if (problem is not null)
            {
                error = $"label selector '{text}': {problem}";
                return false;
            }

            requirements.Add(requirement);
        }

        selector = new NodeSelector(text, requirements);
        return true;
    }

    public bool Matches(IDictionary<string, string>? labels)
    {
        foreach (var requirement in _requirements)
        {
            string? value = null;
            var present = labels is not null && labels.TryGetValue(requirement.Key, out value);
            var holds = requirement.Operator switch
            {
                Operator.Exists => present,
                Operator.DoesNotExist => !present,
                Operator.EqualTo => present && string.Equals(value, requirement.Value, StringComparison.Ordinal),
                Operator.NotEqualTo => !present || !string.Equals(value, requirement.Value, StringComparison.Ordinal),
                _ => false,
            };
            if (!holds)
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => Text;

    private static string? ParseRequirement(string term, out Requirement requirement)
    {
        requirement = default;
        if (term.Length == 0)
        {
            return "an empty requirement (two commas, or one at an end)";
        }

        if (term.Contains('(', StringComparison.Ordinal) || term.Contains(')', StringComparison.Ordinal)
            || term.Contains(" in ", StringComparison.Ordinal) || term.Contains(" notin ", StringComparison.Ordinal))
        {
            return $"'{term}': set-based requirements (in, notin) are not supported; use key, !key, key=value or key!=value";
        }

        string key;
        string? value = null;
        Operator op;
        if (term.StartsWith('!'))
        {
            key = term[1..].Trim();
            op = Operator.DoesNotExist;
        }
        else if (term.IndexOf("!=", StringComparison.Ordinal) is var notEqual and >= 0)
        {
            (key, value, op) = (term[..notEqual].Trim(), term[(notEqual + 2)..].Trim(), Operator.NotEqualTo);
        }
        else if (term.IndexOf("==", StringComparison.Ordinal) is var doubleEqual and >= 0)
        {
            (key, value, op) = (term[..doubleEqual].Trim(), term[(doubleEqual + 2)..].Trim(), Operator.EqualTo);
        }
        else if (term.IndexOf('=', StringComparison.Ordinal) is var equal and >= 0)
        {
            (key, value, op) = (term[..equal].Trim(), term[(equal + 1)..].Trim(), Operator.EqualTo);
        }
        else
        {
            key = term;
            op = Operator.Exists;
        }

        if (KeyProblem(key) is { } keyProblem)
        {
            return $"'{term}': {keyProblem}";
        }

        if (value is not null && ValueProblem(value) is { } valueProblem)
        {
            return $"'{term}': {valueProblem}";
        }

        requirement = new Requirement(key, op, value);
        return null;
    }

    private static string? KeyProblem(string key)
    {
        if (key.Length == 0)
        {
            return "the label key is missing";
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash >= 0 ? key[(slash + 1)..] : key;
        if (slash >= 0)
        {
            var prefix = key[..slash];
            if (prefix.Length is 0 or > MaxPrefixLength || !IsPrefix(prefix))
            {
                return $"key prefix '{prefix}' must be a DNS subdomain: lower-case letters, digits, '-' and '.', at most {MaxPrefixLength} characters";
            }
        }

        return name.Length is > 0 and <= MaxNameLength && IsName(name)
            ? null
            : $"key name '{name}' must be 1-{MaxNameLength} letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
    }

    private static string? ValueProblem(string value) =>
        value.Length == 0 || (value.Length <= MaxNameLength && IsName(value))
            ? null
            : $"value '{value}' must be at most {MaxNameLength} letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

    private static bool IsName(string text) =>
        char.IsAsciiLetterOrDigit(text[0]) && char.IsAsciiLetterOrDigit(text[^1])
        && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsPrefix(string text) =>
        text.Split('.').All(label => label.Length > 0
            && (char.IsAsciiLetterLower(label[0]) || char.IsAsciiDigit(label[0]))
            && (char.IsAsciiLetterLower(label[^1]) || char.IsAsciiDigit(label[^1]))
            && label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'));

    private readonly record struct Requirement(string Key, Operator Operator, string? Value);
}

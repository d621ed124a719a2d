using System.Diagnostics.CodeAnalysis;

namespace LoadBalancer.Domain.Services;

/// <summary>
/// A Kubernetes label selector as text: comma-separated requirements that must all hold — <c>key</c>, <c>!key</c>,
/// <c>key=value</c> (or <c>==</c>), <c>key!=value</c>, <c>key in (a,b)</c>, <c>key notin (a,b)</c>. As in Kubernetes,
/// <c>key!=value</c> and <c>notin</c> also hold for an object without the label. The empty selector matches everything.
/// </summary>
public sealed class LabelSelector
{
    private const int MaxNameLength = 63;
    private const int MaxPrefixLength = 253;

    private readonly Requirement[] _requirements;

    private LabelSelector(string text, Requirement[] requirements)
    {
        Text = text;
        _requirements = requirements;
    }

    public static LabelSelector Everything { get; } = new(string.Empty, []);

    public string Text { get; }

    public bool IsEverything => _requirements.Length == 0;

    private enum Operator
    {
        Exists,
        DoesNotExist,
        EqualTo,
        NotEqualTo,
        In,
        NotIn,
    }

    /// <param name="error">What is wrong, naming the whole text and the requirement at fault.</param>
    public static bool TryParse(string? text, [NotNullWhen(true)] out LabelSelector? selector, [NotNullWhen(false)] out string? error)
    {
        selector = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            selector = Everything;
            return true;
        }

        var terms = SplitTerms(text, out var splitProblem);
        if (splitProblem is not null)
        {
            error = $"label selector '{text}': {splitProblem}";
            return false;
        }

        var requirements = new Requirement[terms.Count];
        for (var i = 0; i < terms.Count; i++)
        {
            var problem = ParseRequirement(terms[i].Trim(), out requirements[i]);
            if (problem is not null)
            {
                error = $"label selector '{text}': {problem}";
                return false;
            }
        }

        selector = new LabelSelector(text.Trim(), requirements);
        return true;
    }

    /// <exception cref="FormatException">The text is no selector; the message names it and the requirement at fault.</exception>
    public static LabelSelector Parse(string? text) =>
        TryParse(text, out var selector, out var error) ? selector : throw new FormatException(error);

    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        foreach (var requirement in _requirements)
        {
            string? value = null;
            var present = labels is not null && labels.TryGetValue(requirement.Key, out value);
            var holds = requirement.Operator switch
            {
                Operator.Exists => present,
                Operator.DoesNotExist => !present,
                Operator.EqualTo => present && string.Equals(value, requirement.Values[0], StringComparison.Ordinal),
                Operator.NotEqualTo => !present || !string.Equals(value, requirement.Values[0], StringComparison.Ordinal),
                Operator.In => present && requirement.Values.Contains(value!, StringComparer.Ordinal),
                Operator.NotIn => !present || !requirement.Values.Contains(value!, StringComparer.Ordinal),
                _ => false,
            };
            if (!holds)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The one label that, put on an object, makes it match: true when the selector is a single <c>key</c> or
    /// <c>key=value</c> (or <c>key in (value)</c>); false for everything, several requirements or negative ones, which no
    /// single label satisfies.
    /// </summary>
    public bool TryGetSatisfyingLabel([NotNullWhen(true)] out string? key, [NotNullWhen(true)] out string? value)
    {
        (key, value) = _requirements switch
        {
            [{ Operator: Operator.Exists } only] => (only.Key, string.Empty),
            [{ Operator: Operator.EqualTo or Operator.In, Values.Length: 1 } only] => (only.Key, only.Values[0]),
            _ => ((string?)null, (string?)null),
        };
        return key is not null;
    }

    public override string ToString() => Text;

    /// <summary>Splits at the commas between requirements, not those inside a set's parentheses.</summary>
    private static List<string> SplitTerms(string text, out string? problem)
    {
        problem = null;
        var terms = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    if (++depth > 1)
                    {
                        problem = "parentheses cannot nest";
                        return terms;
                    }

                    break;
                case ')':
                    if (--depth < 0)
                    {
                        problem = "')' without '('";
                        return terms;
                    }

                    break;
                case ',' when depth == 0:
                    terms.Add(text[start..i]);
                    start = i + 1;
                    break;
            }
        }

        if (depth != 0)
        {
            problem = "'(' without ')'";
            return terms;
        }

        terms.Add(text[start..]);
        return terms;
    }

    private static string? ParseRequirement(string term, out Requirement requirement)
    {
        requirement = default;
        if (term.Length == 0)
        {
            return "an empty requirement (two commas, or one at an end)";
        }

        string key;
        string[] values = [];
        Operator op;
        if (term.IndexOf('(', StringComparison.Ordinal) is var open and >= 0)
        {
            // key in (a, b) / key notin (a, b): the operator is a word, so it needs a space after the key.
            if (!term.EndsWith(')'))
            {
                return $"'{term}': nothing may follow the ')' of a set";
            }

            var head = term[..open].TrimEnd();
            var space = head.LastIndexOfAny([' ', '\t']);
            var word = space < 0 ? head : head[(space + 1)..];
            op = word switch
            {
                "in" => Operator.In,
                "notin" => Operator.NotIn,
                _ => (Operator)(-1),
            };
            if (space < 0 || (int)op < 0)
            {
                return $"'{term}': a set needs 'key in (…)' or 'key notin (…)'";
            }

            key = head[..space].Trim();
            values = [.. term[(open + 1)..^1].Split(',').Select(value => value.Trim())];
            if (values is [""])
            {
                return $"'{term}': the set of values is empty";
            }
        }
        else if (term.StartsWith('!'))
        {
            key = term[1..].Trim();
            op = Operator.DoesNotExist;
        }
        else if (term.IndexOf("!=", StringComparison.Ordinal) is var notEqual and >= 0)
        {
            (key, values, op) = (term[..notEqual].Trim(), [term[(notEqual + 2)..].Trim()], Operator.NotEqualTo);
        }
        else if (term.IndexOf("==", StringComparison.Ordinal) is var doubleEqual and >= 0)
        {
            (key, values, op) = (term[..doubleEqual].Trim(), [term[(doubleEqual + 2)..].Trim()], Operator.EqualTo);
        }
        else if (term.IndexOf('=', StringComparison.Ordinal) is var equal and >= 0)
        {
            (key, values, op) = (term[..equal].Trim(), [term[(equal + 1)..].Trim()], Operator.EqualTo);
        }
        else if (term.IndexOfAny(['<', '>']) >= 0)
        {
            return $"'{term}': '<' and '>' are not label selector operators";
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

        foreach (var value in values)
        {
            if (ValueProblem(value) is { } valueProblem)
            {
                return $"'{term}': {valueProblem}";
            }
        }

        requirement = new Requirement(key, op, values);
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

    private readonly record struct Requirement(string Key, Operator Operator, string[] Values);
}

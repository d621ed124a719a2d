using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>
/// The worker-node selector: a Kubernetes label selector (<see cref="LabelSelector"/>, which parses and matches it) of
/// the equality kind only: <c>key</c>, <c>!key</c>, <c>key=value</c> (or <c>==</c>), <c>key!=value</c>, comma-separated,
/// every requirement must hold. The set kind (<c>key in (a,b)</c>) is refused, as it always was for this flag. As in
/// Kubernetes, <c>key!=value</c> also matches objects without the label.
/// </summary>
internal sealed class NodeSelector
{
    private readonly LabelSelector _selector;

    private NodeSelector(string text, LabelSelector selector)
    {
        Text = text;
        _selector = selector;
    }

    public static NodeSelector Everything { get; } = new(string.Empty, LabelSelector.Everything);

    public string Text { get; }

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

        foreach (var term in text.Split(',').Select(term => term.Trim()))
        {
            if (term.Contains('(', StringComparison.Ordinal) || term.Contains(')', StringComparison.Ordinal)
                || term.Contains(" in ", StringComparison.Ordinal) || term.Contains(" notin ", StringComparison.Ordinal))
            {
                error = $"label selector '{text}': '{term}': set-based requirements (in, notin) are not supported; use key, !key, key=value or key!=value";
                return false;
            }
        }

        if (!LabelSelector.TryParse(text, out var parsed, out error))
        {
            return false;
        }

        selector = new NodeSelector(text, parsed);
        return true;
    }

    public bool Matches(IDictionary<string, string>? labels) =>
        _selector.Matches(labels is null ? null : labels as IReadOnlyDictionary<string, string> ?? new Dictionary<string, string>(labels));

    public override string ToString() => Text;
}

using System.Globalization;
using System.Text;

namespace LoadBalancer.Domain.Text;

/// <summary>
/// How a message shows a value someone wrote: in quotes, so that a trailing space or an empty string can be seen; with
/// control and invisible characters escaped, so that one value cannot break a log line or hide in it; and shortened
/// with its length when long, so that a 10 KiB annotation does not fill the log.
/// </summary>
public static class QuotedValue
{
    public const int DefaultMaxLength = 120;

    /// <summary>Shown for a value that is absent.</summary>
    public const string None = "(none)";

    /// <returns><c>'value'</c>; <c>'first 120 characters…' (10240 characters)</c> when longer than
    /// <paramref name="maxLength"/>; <c>(none)</c> for null.</returns>
    public static string Of(string? value, int maxLength = DefaultMaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        if (value is null)
        {
            return None;
        }

        var shown = value.Length > maxLength ? value.AsSpan(0, CutAt(value, maxLength)) : value.AsSpan();
        var builder = new StringBuilder(shown.Length + 32);
        builder.Append('\'');
        foreach (var character in shown)
        {
            AppendVisible(builder, character);
        }

        if (shown.Length < value.Length)
        {
            builder.Append(CultureInfo.InvariantCulture, $"…' ({value.Length} characters)");
        }
        else
        {
            builder.Append('\'');
        }

        return builder.ToString();
    }

    /// <summary>The cut never splits a surrogate pair, which would leave half a character to print.</summary>
    private static int CutAt(string value, int maxLength) =>
        char.IsHighSurrogate(value[maxLength - 1]) ? maxLength - 1 : maxLength;

    private static void AppendVisible(StringBuilder builder, char character)
    {
        switch (character)
        {
            case '\n':
                builder.Append("\\n");
                return;
            case '\r':
                builder.Append("\\r");
                return;
            case '\t':
                builder.Append("\\t");
                return;
            case '\0':
                builder.Append("\\0");
                return;
        }

        // Format characters (a zero-width space, a bidirectional override) print as nothing and change what the rest
        // of the line seems to say; a lone surrogate cannot be printed at all.
        var category = char.GetUnicodeCategory(character);
        if (char.IsControl(character) || category is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
        {
            builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)character:X4}");
            return;
        }

        builder.Append(character);
    }
}

using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Autorest;

namespace LoadBalancer.Infrastructure.Kubernetes;

/// <summary>
/// A failed request or watch in one line for the log: the HTTP status and the API's own words (the <c>message</c> of
/// its Status body), quoted and shortened, instead of the client's "Operation returned an invalid status code
/// 'Forbidden'" or a whole HTML page from a proxy. The stack trace is for Debug, not for this line.
/// </summary>
internal static class ApiFailureText
{
    public const int MaxLength = 200;

    public static string Describe(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error switch
        {
            HttpOperationException { Response: { } response } => WithStatus(response.StatusCode, StatusMessage(response.Content)),
            KubernetesException { Status: { } status } => WithStatus(status.Code is { } code ? (HttpStatusCode)code : null, status.Message ?? status.Reason),
            HttpRequestException { StatusCode: { } code } => WithStatus(code, error.Message),
            _ => Quote(error.Message),
        };
    }

    /// <summary>'text' shortened to <see cref="MaxLength"/> with its length, whitespace runs (newlines too) as one space.</summary>
    // Not QuotedValue.Of: an API body is flattened to one line (its newlines and runs of spaces become one space) as well.
    public static string Quote(string? text)
    {
        if (text is null)
        {
            return "(none)";
        }

        var flat = new StringBuilder(Math.Min(text.Length, MaxLength + 1));
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = flat.Length > 0;
                continue;
            }

            if (space)
            {
                flat.Append(' ');
                space = false;
            }

            flat.Append(c);
        }

        var value = flat.ToString();
        return value.Length <= MaxLength
            ? $"'{value}'"
            : $"'{value[..MaxLength]}…' ({text.Length.ToString(CultureInfo.InvariantCulture)} characters)";
    }

    private static string WithStatus(HttpStatusCode? status, string? message)
    {
        var code = status is { } known ? $"HTTP {((int)known).ToString(CultureInfo.InvariantCulture)} {known}" : "an error status";
        return string.IsNullOrWhiteSpace(message) ? code : $"{code}: {Quote(message)}";
    }

    /// <summary>The Status object's message when the body is one, else the body itself (to be shortened).</summary>
    private static string? StatusMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("message", out var message)
                && message.ValueKind == JsonValueKind.String)
            {
                return message.GetString();
            }

            return document.RootElement.ValueKind == JsonValueKind.Object ? null : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }
}

using Microsoft.AspNetCore.WebUtilities;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>One HTTP request the server received.</summary>
/// <param name="PathAndQuery">The raw path and query string, e.g. "/api/v1/services?watch=true&amp;resourceVersion=5".</param>
public sealed record RecordedRequest(string Method, string PathAndQuery, DateTimeOffset At)
{
    public string Path => PathAndQuery.Split('?', 2)[0];

    /// <summary>True when the request is a watch (query watch=true or watch=1).</summary>
    public bool IsWatch => Query("watch") is "true" or "1";

    /// <summary>The value of one query parameter, or null when it is absent.</summary>
    public string? Query(string name)
    {
        var start = PathAndQuery.IndexOf('?', StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        return QueryHelpers.ParseQuery(PathAndQuery[start..]).TryGetValue(name, out var values) ? values.ToString() : null;
    }
}

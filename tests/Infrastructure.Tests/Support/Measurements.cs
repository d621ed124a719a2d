using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LoadBalancer.Infrastructure.Tests.Support;

internal static class Measurements
{
    /// <summary>
    /// A measurement as one line, its tags sorted by name (<c>1 device=eth0 family=ipv4</c>), so that an assertion on
    /// several compares value and tags at once and a failure shows all of them.
    /// </summary>
    public static string Describe<T>(this CollectedMeasurement<T> measurement)
        where T : struct =>
        string.Join(' ', [measurement.Value.ToString()!, .. measurement.Tags.OrderBy(tag => tag.Key, StringComparer.Ordinal).Select(tag => $"{tag.Key}={tag.Value}")]);
}

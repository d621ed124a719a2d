using System.Text.Json;
using System.Text.RegularExpressions;

namespace LoadBalancer.Host.Tests.Admin;

/// <summary>deploy/grafana's dashboard imports as Grafana reads it and queries only metrics the daemon documents.</summary>
public sealed partial class GrafanaDashboardTests
{
    private static readonly JsonElement Dashboard =
        JsonDocument.Parse(File.ReadAllText(LoadBalancer.Tests.Shared.RepositoryRoot.Combine("deploy", "grafana", "little-load-balancer.json"))).RootElement;

    [Fact]
    public void EveryQuery_NamesOnlyDocumentedMetrics()
    {
        var expressions = Expressions(Dashboard).ToList();
        Assert.True(expressions.Count > 10, $"{expressions.Count} queries");

        var named = expressions.SelectMany(expression => MetricName().Matches(expression).Select(match => DocumentedMetrics.Family(match.Value))).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(named.Except(DocumentedMetrics.Names));
        Assert.Contains("littlelb_listener_traffic_bytes_total", named);
    }

    [Fact]
    public void Panels_HaveUniqueIdsAndTheImportedDataSource()
    {
        var panels = Dashboard.GetProperty("panels").EnumerateArray().ToList();

        Assert.Equal(panels.Count, panels.Select(panel => panel.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.All(panels, panel => Assert.Equal("${DS_PROMETHEUS}", panel.GetProperty("datasource").GetProperty("uid").GetString()));
        Assert.Equal("DS_PROMETHEUS", Dashboard.GetProperty("__inputs")[0].GetProperty("name").GetString());
    }

    private static IEnumerable<string> Expressions(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name is "expr" or "query" && property.Value.ValueKind == JsonValueKind.String)
                {
                    yield return property.Value.GetString()!;
                }

                foreach (var inner in Expressions(property.Value))
                {
                    yield return inner;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray().SelectMany(Expressions))
            {
                yield return item;
            }
        }
    }

    [GeneratedRegex(@"\blittlelb_[a-z_]+")]
    private static partial Regex MetricName();
}

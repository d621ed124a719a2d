using System.Net;
using LoadBalancer.Tests.FakeKubernetesApi;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// The admin endpoint's probes in cluster mode against the fake API server: not ready while the informers' lists have
/// not answered (the caches are not synced), ready once they have, and alive throughout; its metrics all documented.
/// </summary>
public sealed class ClusterProbeTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private FakeApiServer _api = null!;

    public async Task InitializeAsync() => _api = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task ReadyzIs503_UntilTheCachesAreSynced_Then200_AndHealthzIsAlways200()
    {
        // Every list waits this long before it answers: the window in which the daemon is alive and not ready.
        _api.ListDelay = TimeSpan.FromSeconds(5);
        var admin = $"127.0.0.1:{Net.FreePort("127.0.0.1")}";
        await using var daemon = ClusterHarness.Start(_api, "127.0.116.0/29", flags: ["--admin-address", admin]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{admin}/"), Timeout = TimeSpan.FromSeconds(5) };

        HttpResponseMessage? first = null;
        Assert.True(await Net.EventuallyAsync(async () =>
        {
            try
            {
                first = await http.GetAsync(new Uri("readyz", UriKind.Relative));
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, Limit), daemon.Log.ToString());
        using (first)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first!.StatusCode);
            Assert.StartsWith("not ready: the Services have not been read yet", await first.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("healthz", UriKind.Relative)));

        Assert.True(await Net.EventuallyAsync(async () =>
        {
            using var ready = await http.GetAsync(new Uri("readyz", UriKind.Relative));
            return ready.StatusCode == HttpStatusCode.OK;
        }, Limit), daemon.Log.ToString());
        Assert.True((await daemon.SourceAsync()).Ready.IsCompletedSuccessfully);

        // The cluster mode's scrape parses, and holds only metrics docs/observability.md lists (the informers' among them
        // once a watch restarts; values are checked where one daemon runs in its own process, MetricsEndpointTests).
        var samples = Admin.PrometheusText.Parse(await http.GetStringAsync(new Uri("metrics", UriKind.Relative)));
        Assert.Contains(samples, sample => sample.Name == "littlelb_leader");
        Assert.Empty(samples.Select(sample => Admin.DocumentedMetrics.Family(sample.Name)).Distinct().Except(Admin.DocumentedMetrics.Names));
    }
}

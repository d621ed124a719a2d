using System.Net;
using LoadBalancer.Host.Tests.Cluster;
using LoadBalancer.Host.Tests.Standalone;
using static LoadBalancer.Host.Tests.Standalone.Manifests;

namespace LoadBalancer.Host.Tests.Admin;

/// <summary>
/// <c>/metrics</c> of the real binary in standalone mode, scraped and parsed as Prometheus would, against a state the
/// test made: a Service served and used, and one refused.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class MetricsEndpointTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-metrics-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Scrape_ShowsTheServiceServed_TheRefusal_AndTheConnectionsMadeThroughIt()
    {
        await using var backend = new EchoBackend("A", IPAddress.Parse("127.0.0.87"), 0);
        var port = FreePorts("127.0.100.225", 1)[0];
        var admin = $"127.0.0.1:{Net.FreePort("127.0.0.1")}";
        var file = Path.Combine(_directory, "services.yaml");

        // "web" is served from the pool; "far" asks for an address outside it, and is refused whichever comes first.
        await SaveAsync(file, Documents(
            Service("web", port, $"127.0.0.87:{backend.Port}"),
            Service("far", port, $"127.0.0.87:{backend.Port}", loadBalancerIp: "127.0.100.229")));
        using var daemon = DaemonProcess.Start(
            "standalone", file, "--state-file", Path.Combine(_directory, "state.json"), "--restricted-cidr", "127.0.100.224/30", "--admin-address", admin);
        try
        {
            var ip = await daemon.IpOfAsync("default/web", port, Patience);
            using var http = new HttpClient { BaseAddress = new Uri($"http://{admin}/"), Timeout = TimeSpan.FromSeconds(10) };

            // Three connections, each one line each way ("hello\n" 6 bytes in, "A:hello\n" 8 bytes out), then closed.
            for (var i = 0; i < 3; i++)
            {
                using var connection = await EchoConnection.OpenAsync(ip, port);
                Assert.NotNull(connection);
                Assert.Equal("A:hello", await connection.AskAsync("hello"));
            }

            var web = new[] { ("namespace", "default"), ("service", "web"), ("port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("protocol", "TCP") };
            IReadOnlyList<PrometheusSample> samples = [];
            var deadline = DateTime.UtcNow + Patience;
            do
            {
                // Closed connections are counted when the forwarder sees them close, and "far" is refused when its turn
                // comes: the scrape may come first.
                using var response = await http.GetAsync(new Uri("metrics", UriKind.Relative));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
                samples = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
                if (samples.Value("littlelb_listener_connections_active", web) == 0
                    && samples.Value("littlelb_listener_traffic_bytes_total", [.. web, ("direction", "backend_to_client")]) == 24
                    && samples.Value("littlelb_services", ("state", "refused")) == 1)
                {
                    break;
                }

                await Task.Delay(200);
            }
            while (DateTime.UtcNow < deadline);

            Assert.Equal(3, samples.Value("littlelb_listener_connections_opened_total", web));
            Assert.Equal(0, samples.Value("littlelb_listener_connections_active", web));
            Assert.Equal(18, samples.Value("littlelb_listener_traffic_bytes_total", [.. web, ("direction", "client_to_backend")]));
            Assert.Equal(24, samples.Value("littlelb_listener_traffic_bytes_total", [.. web, ("direction", "backend_to_client")]));
            Assert.Equal(3, samples.Value("littlelb_backend_connections_opened_total", [.. web, ("backend", $"127.0.0.87:{backend.Port}")]));
            Assert.Equal(1, samples.Value("littlelb_backend_health", [.. web, ("backend", $"127.0.0.87:{backend.Port}"), ("state", "healthy")]));

            Assert.Equal(1, samples.Value("littlelb_leader"));
            Assert.Equal(1, samples.Value("littlelb_services", ("state", "served")));
            Assert.Equal(1, samples.Value("littlelb_services", ("state", "refused")));
            Assert.True(samples.Value("littlelb_allocations_total", ("result", "refused"), ("reason", "outside_pool")) >= 1);
            Assert.Equal(1, samples.Value("littlelb_allocations_total", ("result", "allocated"), ("reason", "new")));
            Assert.Equal(2, samples.Value("littlelb_pool_addresses", ("pool", "default")));
            Assert.Equal(1, samples.Value("littlelb_pool_addresses_used", ("pool", "default")));
            Assert.True(samples.Value("littlelb_reconcile_duration_seconds_count", ("result", "ok")) >= 2);

            // Nothing but the daemon's own instruments and the exporter's target_info, each in docs/observability.md's table.
            Assert.All(samples, sample => Assert.True(sample.Name.StartsWith("littlelb_", StringComparison.Ordinal) || sample.Name == "target_info", sample.Name));
            Assert.Empty(samples.Select(sample => DocumentedMetrics.Family(sample.Name)).Distinct().Except(DocumentedMetrics.Names));
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Signal("TERM");
                await daemon.ExitCodeAsync(Patience);
            }
        }
    }
}

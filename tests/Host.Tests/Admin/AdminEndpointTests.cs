using System.Diagnostics;
using System.Net;
using System.Text.Json;
using LoadBalancer.Host.Tests.Standalone;
using static LoadBalancer.Host.Tests.Standalone.Manifests;

namespace LoadBalancer.Host.Tests.Admin;

/// <summary>
/// The admin endpoint of the real binary in standalone mode, and <c>loadbalancer status</c> reading it: probes, the
/// state API against the table the daemon printed, and refusals of what changes state.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class AdminEndpointTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-admin-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Standalone_ServesProbesAndState_AndStatusPrintsTheTable()
    {
        var backend = Net.FreePort("127.0.0.83");
        var port = FreePorts("127.0.100.221", 1)[0];
        var admin = $"127.0.0.1:{Net.FreePort("127.0.0.1")}";
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, Service("web", port, $"127.0.0.83:{backend}"));
        using var daemon = DaemonProcess.Start(
            "standalone", file, "--state-file", Path.Combine(_directory, "state.json"), "--restricted-cidr", "127.0.100.220/30", "--admin-address", admin);
        try
        {
            var ip = await daemon.IpOfAsync("default/web", port, Patience);
            Assert.True(await daemon.LoggedAsync($"admin endpoint on http://{admin}/", Patience), daemon.ToString());
            using var http = new HttpClient { BaseAddress = new Uri($"http://{admin}/"), Timeout = TimeSpan.FromSeconds(10) };

            Assert.Equal("ok\n", await http.GetStringAsync(new Uri("healthz", UriKind.Relative)));
            using (var ready = await http.GetAsync(new Uri("readyz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }

            // The state API: versioned, the pool and the Service as the daemon printed them, enums as names.
            using var state = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/v1/state", UriKind.Relative)));
            var root = state.RootElement;
            Assert.Equal("v1", root.GetProperty("apiVersion").GetString());
            Assert.Equal("leading", root.GetProperty("state").GetProperty("role").GetString());
            var pool = Assert.Single(root.GetProperty("state").GetProperty("pools").EnumerateArray());
            Assert.Equal("127.0.100.220/30", pool.GetProperty("addresses").GetString());
            Assert.Equal(1, pool.GetProperty("used").GetInt32());
            var service = Assert.Single(root.GetProperty("state").GetProperty("services").EnumerateArray());
            Assert.Equal("web", service.GetProperty("name").GetString());
            Assert.Equal("served", service.GetProperty("state").GetString());
            Assert.Equal(ip, service.GetProperty("ip").GetString());
            var servicePort = Assert.Single(service.GetProperty("ports").EnumerateArray());
            Assert.Equal(port, servicePort.GetProperty("port").GetInt32());
            Assert.Equal($"127.0.0.83:{backend}", Assert.Single(servicePort.GetProperty("backends").EnumerateArray()).GetProperty("address").GetString());
            Assert.False(service.TryGetProperty("key", out _));

            // Read-only: nothing else is routed, and no method but GET.
            using (var post = await http.PostAsync(new Uri("api/v1/state", UriKind.Relative), new StringContent("{}")))
            {
                Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
            }

            using (var other = await http.GetAsync(new Uri("api/v1/services", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
            }

            // loadbalancer status: the table, and the JSON for scripts.
            var (code, table, _) = await RunToolAsync("status", "--admin-address", admin);
            Assert.Equal(0, code);
            Assert.Contains("leading; 1 Services (1 served)", table, StringComparison.Ordinal);
            Assert.Contains("pool default 127.0.100.220/30: 1 used", table, StringComparison.Ordinal);
            Assert.Contains($"default/web", table, StringComparison.Ordinal);
            Assert.Contains($"TCP/{port}", table, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.83:{backend}", table, StringComparison.Ordinal);
            var (jsonCode, json, _) = await RunToolAsync("status", "--admin-address", admin, "--output", "json");
            Assert.Equal(0, jsonCode);
            Assert.Equal("v1", JsonDocument.Parse(json).RootElement.GetProperty("apiVersion").GetString());
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

    [Fact]
    public async Task Status_WithoutADaemon_SaysWhichAddressItAsked_Exit1()
    {
        var admin = $"127.0.0.1:{Net.FreePort("127.0.0.1")}";

        var (code, _, error) = await RunToolAsync("status", "--admin-address", admin);

        Assert.Equal(1, code);
        Assert.Contains($"cannot read http://{admin}/api/v1/state", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost:9090")]
    [InlineData("127.0.0.1")]
    public async Task Standalone_ABadAdminAddress_IsRefusedAtStart_NamingTheKeyAndTheValue(string value)
    {
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, Service("web", 8080, "127.0.0.83:1"));

        var (code, _, error) = await RunToolAsync("standalone", file, "--state-file", Path.Combine(_directory, "state.json"), "--admin-address", value);

        Assert.Equal(2, code);
        Assert.Contains($"adminAddress: '{value}' is not IP:PORT", error, StringComparison.Ordinal);
        Assert.Contains("--admin-address", error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunToolAsync(params string[] args)
    {
        using var tool = DaemonProcess.Start(args);
        var code = await tool.ExitCodeAsync(Patience);
        return (code, tool.Output.ToString(), tool.Error.ToString());
    }
}

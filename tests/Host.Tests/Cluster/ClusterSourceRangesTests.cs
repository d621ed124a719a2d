using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Tests.FakeKubernetesApi;
using static LoadBalancer.Host.Tests.Cluster.ClusterObjects;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// loadBalancerSourceRanges in cluster mode through the fake API server: clients bind to 127.0.0.140 (inside the range)
/// or 127.0.0.141 (outside) before they connect to the Service on 127.0.125.32/29; a "node" on 127.0.0.193.
/// </summary>
public sealed class ClusterSourceRangesTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    private FakeApiServer _api = null!;

    public async Task InitializeAsync() => _api = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task SpecRanges_LetTheClientInside_AndNeverServeOneOutside_AnInvalidEntryIsAWarningEventNamingIt()
    {
        await using var node = new EchoBackend("A", IPAddress.Parse("127.0.0.193"), 0);
        _api.PutNode(Node("node-a", "127.0.0.193"));
        var service = Service("web", 8080, node.Port);
        service.Spec.LoadBalancerSourceRanges = ["127.0.0.140/32"];
        _api.PutService(service);
        var bad = Service("bad", 8081, node.Port);
        bad.Spec.LoadBalancerSourceRanges = ["127.0.0.140/32", "banana"];
        _api.PutService(bad);
        await using var daemon = ClusterHarness.Start(_api, "127.0.125.32/29");
        await daemon.ReadyAsync();

        string? ip = null;
        Assert.True(await Net.EventuallyAsync(() => (ip = IngressIp(_api.GetService("default", "web"))) is not null, Limit), daemon.Log.ToString());
        Assert.True(await Net.EventuallyAsync(async () => await AskFromAsync("127.0.0.140", ip!, 8080) == "A:who", Limit), daemon.Log.ToString());
        Assert.Null(await AskFromAsync("127.0.0.141", ip!, 8080));

        Assert.True(await Net.EventuallyAsync(
            () => _api.Events.Any(e => e.RegardingName == "bad" && e.Type == "Warning"
                && e.Note?.Contains("spec.loadBalancerSourceRanges[1]: 'banana' is not a CIDR", StringComparison.Ordinal) == true), Limit),
            string.Join(" | ", _api.Events.Select(e => $"{e.RegardingName} {e.Type} {e.Reason} {e.Note}")));
        Assert.Null(IngressIp(_api.GetService("default", "bad")));
    }

    /// <summary>One line through a connection from <paramref name="source"/>; null when it does not connect within 2 s.</summary>
    private static async Task<string?> AskFromAsync(string source, string ip, int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(ip), port, timeout.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes("who\n"), timeout.Token);
            var buffer = new byte[256];
            var read = await socket.ReceiveAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).TrimEnd('\n');
        }
        catch (Exception failure) when (failure is SocketException or OperationCanceledException)
        {
            return null;
        }
    }
}

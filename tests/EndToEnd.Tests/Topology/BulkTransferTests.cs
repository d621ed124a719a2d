using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>Every byte through the whole path, client → Service IP in lb1 → a node's NodePort, checked by SHA-256 at both ends.</summary>
[Collection(EndToEndTests.Name)]
public sealed class BulkTransferTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    private const int Port = 9000;
    private const long GiB = 1L << 30;
    private const long MiB = 1L << 20;
    private const int Trailer = 2 * StreamBackend.HashLength;

    /// <summary>Bounds one transfer: 2 GiB at a very slow 20 MB/s would still finish.</summary>
    private static readonly TimeSpan TransferLimit = TimeSpan.FromSeconds(120);

    [KubeRootFact]
    public async Task OneGibEachWay_AndAHalfClosedRequestResponse_ArriveWhole()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var daemon = await small.StartDaemonAsync(small.Network.Lb1);
        var service = await small.CreateServiceAsync("bulk", new ServicePort(Port));
        foreach (var worker in small.Workers)
        {
            worker.ServeStreams(service.Spec.Ports[0].NodePort!.Value);
        }

        var ip = await small.IngressEventuallyAsync("bulk");
        Assert.True(await daemon.Process.LoggedAsync($"Listening on {ip}:{Port}", SmallCluster.Limit), small.Describe());
        // A zero-copy engine (io_uring, whose bulk streams splice, or splice) moves these bytes, not the managed copy.
        Assert.Matches(new Regex($@"Listening on {Regex.Escape(ip)}:{Port} [^\n]*\((IoUring|Splice) engine", RegexOptions.IgnoreCase), daemon.Process.Error.ToString());

        // Both directions at once: the client sends 1 GiB while the backend sends its 1 GiB.
        var duplex = await TransferAsync(small, ip, request: GiB, response: GiB, answerAfterHalfClose: false);
        output.WriteLine($"figure: 1 GiB each way at once: {duplex.Seconds:F2} s, {Rate(2 * GiB, duplex.Seconds)} both directions together");

        // A request, the client's half-close, and only then the response: the path must keep the other direction open.
        var halfClosed = await TransferAsync(small, ip, request: 256 * MiB, response: 256 * MiB, answerAfterHalfClose: true);
        output.WriteLine($"figure: half-closed request/response, 256 MiB up then 256 MiB down: {halfClosed.Seconds:F2} s, {Rate(512 * MiB, halfClosed.Seconds)}");
    }

    /// <summary>One connection from the client: <paramref name="request"/> bytes up, then its half-close; checks what came back.</summary>
    private static async Task<(double Seconds, long Received)> TransferAsync(SmallCluster small, string ip, long request, long response, bool answerAfterHalfClose)
    {
        using var socket = await small.Network.Client.ConnectAsync(ip, Port, TimeSpan.FromSeconds(10));
        using var limit = new CancellationTokenSource(TransferLimit);
        var took = Stopwatch.StartNew();
        await socket.SendAsync(StreamBackend.Request(response, answerAfterHalfClose), SocketFlags.None, limit.Token);
        var receiving = StreamBackend.ReceiveAsync(socket, Trailer, limit.Token);
        var sentHash = await StreamBackend.SendGeneratedAsync(socket, request, limit.Token);
        socket.Shutdown(SocketShutdown.Send);
        var (count, receivedHash, trailer) = await receiving;
        var seconds = took.Elapsed.TotalSeconds;

        Assert.Equal(response, count);
        Assert.Equal(Convert.ToHexString(sentHash), Convert.ToHexString(trailer[..StreamBackend.HashLength]));
        Assert.Equal(Convert.ToHexString(trailer[StreamBackend.HashLength..]), Convert.ToHexString(receivedHash));
        return (seconds, count);
    }

    private static string Rate(long bytes, double seconds) => $"{bytes / seconds / 1e6:F0} MB/s";
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Host.Tests.Cluster;
using static LoadBalancer.Host.Tests.Standalone.Manifests;

namespace LoadBalancer.Host.Tests.Standalone;

/// <summary>
/// The real binary in standalone mode with a Service restricted by spec.loadBalancerSourceRanges: a client from
/// 127.0.0.1 never reaches the backend, one bound to 127.0.0.142 (inside the range) is served; a Service whose range
/// annotation is not a CIDR is not served at all, and the log names the annotation and quotes the value.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class StandaloneSourceRangesTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-ranges-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task SourceRangeService_Refuses127001_ServesAnAddressInTheRange_AndABadRangeIsNotServed()
    {
        await using var backend = new EchoBackend("A", IPAddress.Parse("127.0.0.131"), 0);
        var port = FreePorts("127.0.122.225", 1)[0];
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, Documents(
            $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: guarded
              annotations:
                littlelb.io/backends: "127.0.0.131:{backend.Port}"
                littlelb.io/health-check-enabled: "false"
            spec:
              type: LoadBalancer
              loadBalancerSourceRanges:
                - 127.0.0.142/32
                - 10.0.0.0/8
              ports:
                - port: {port}

            """,
            $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: broken
              annotations:
                littlelb.io/backends: "127.0.0.131:{backend.Port}"
                service.beta.kubernetes.io/load-balancer-source-ranges: "127.0.0.0/8, banana"
            spec:
              type: LoadBalancer
              ports:
                - port: {port}

            """));
        using var daemon = DaemonProcess.Start(
            "standalone", file, "--state-file", Path.Combine(_directory, "state.json"), "--restricted-cidr", "127.0.122.224/30");
        try
        {
            var ip = await daemon.IpOfAsync("default/guarded", port, Patience);
            Assert.True(
                await daemon.LoggedAsync("metadata.annotations[\"service.beta.kubernetes.io/load-balancer-source-ranges\"]: 'banana' is not a CIDR", Patience),
                daemon.ToString());

            Assert.Null(await AskFromAsync(IPAddress.Loopback, ip, port, TimeSpan.FromSeconds(2)));
            Assert.Equal("A:hello", await AskFromAsync(IPAddress.Parse("127.0.0.142"), ip, port, TimeSpan.FromSeconds(5)));
            Assert.Null(await AskFromAsync(IPAddress.Parse("127.0.0.143"), ip, port, TimeSpan.FromSeconds(2)));
            Assert.Null(Table.IpOf(daemon.Output.ToString(), "default/broken", port));
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

    /// <summary>"hello" through the load balancer from <paramref name="source"/>; null when no connection was made in time.</summary>
    private static async Task<string?> AskFromAsync(IPAddress source, string ip, int port, TimeSpan limit)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(ip), port, timeout.Token);
        }
        catch (Exception failure) when (failure is SocketException or OperationCanceledException)
        {
            return null;
        }

        await using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var answer = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stream.WriteAsync("hello\n"u8.ToArray(), answer.Token);
        return await reader.ReadLineAsync(answer.Token);
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using static LoadBalancer.Host.Tests.Standalone.Manifests;

namespace LoadBalancer.Host.Tests.Standalone;

/// <summary>A UDP Service in the standalone mode: a demo backend answering datagrams on 127.0.0.12x, the Service on 127.0.120.241.</summary>
public sealed class StandaloneUdpTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-standalone-udp-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Standalone_UdpService_IsAnsweredThroughItsIp_WithNoNotForwardedWarning()
    {
        var backendPort = FreeUdpPort("127.0.0.121");
        var servicePort = FreeUdpPort("127.0.120.241");
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: dns
              annotations:
                littlelb.io/backends: "127.0.0.121:{backendPort}"
                littlelb.io/udp-flow-idle-timeout: "10s"
            spec:
              type: LoadBalancer
              ports:
                - port: {servicePort}
                  protocol: UDP

            """);
        using var stopBackend = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var backend = Support.InProcess.RunAsync(["demo-backend", "--listen-udp", $"127.0.0.121:{backendPort}"], TextWriter.Null, TextWriter.Null, stopBackend.Token);
        await using var standalone = StandaloneRun.Start(file, Path.Combine(_directory, "state.json"), "--restricted-cidr", "127.0.120.240/30");
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var service = new IPEndPoint(IPAddress.Parse("127.0.120.241"), servicePort);
            string? answer = null;
            var deadline = DateTime.UtcNow + StandaloneRun.Patience;
            while (answer is null && DateTime.UtcNow < deadline)
            {
                await client.SendToAsync(Encoding.ASCII.GetBytes("who is there?"), SocketFlags.None, service);
                var buffer = new byte[512];
                using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                try
                {
                    var received = await client.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), wait.Token);
                    Assert.Equal(service, received.RemoteEndPoint);
                    answer = Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes);
                }
                catch (OperationCanceledException)
                {
                }
            }

            Assert.Equal($"hello from 127.0.0.121:{backendPort}: who is there?", answer);
            Assert.DoesNotContain("NotForwarded", standalone.Error.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("NotForwarded", standalone.Output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Assert.Equal(0, await standalone.StopAsync());
            await stopBackend.CancelAsync();
            await backend.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static int FreeUdpPort(string ip)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(ip), 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using LoadBalancer.Infrastructure.Tests.Networking.Support;
using LoadBalancer.Infrastructure.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Networking;

/// <summary>
/// The whole data path on a real link: the netlink adapter puts a load-balancer IP on a veth end in one namespace, the
/// splice forwarder listens on it, and a client in another namespace reaches a backend through it over the veth pair.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class NetlinkForwardingEndToEndTests
{
    private static readonly IPAddress LoadBalancerIp = IPAddress.Parse("192.0.2.50");
    private const int Port = 8080;

    [RootFact]
    public async Task AddressAddedByTheAdapter_ServesClientsFromTheOtherNamespaceUntilRemoved()
    {
        var (left, right) = NetworkNamespace.CreateVethPair("llb-lb", "llb-client", "192.0.2.1/24", "192.0.2.2/24");
        using var leftSpace = left;
        using var rightSpace = right;

        // Everything that opens a socket for the load balancer's side is created inside the left namespace.
        using var meters = new TestMeterFactory();
        using var device = left.Run(() => new NetlinkLinkDevice(
            new LinkDeviceOptions { DeviceName = "llb-lb" }, new LinkMetrics(meters), NullLogger<NetlinkLinkDevice>.Instance));
        using var backend = left.Run(() =>
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return listener;
        });
        var backendTask = Task.Run(() => EchoOnceAsync(backend));
        await using var forwarder = left.Run(() => new TcpForwarder(new ForwarderOptions { Engine = ForwardingEngine.Splice }, TimeProvider.System, NullLoggerFactory.Instance));

        var added = await device.AddAddressAsync(LoadBalancerIp, CancellationToken.None);
        Assert.True(added.Succeeded, added.Error);
        Assert.Contains("192.0.2.50/24", left.Exec("ip -o addr show dev llb-lb"));

        var binding = new PortBinding(LoadBalancerIp, ServicePort.Tcp(Port));
        var spec = new ListenerSpec(binding, new ServiceKey("default", "web"),
            [new Endpoint(IPAddress.Loopback, ((IPEndPoint)backend.LocalEndpoint).Port)], LoadBalancingPolicyNames.RoundRobin)
        {
            HealthCheck = HealthCheckSettings.Default with { Enabled = false },
        };
        var applied = left.Run(() => forwarder.ApplyAsync(spec, CancellationToken.None).AsTask().GetAwaiter().GetResult());
        Assert.True(applied.Succeeded, applied.Error);

        var answer = right.Run(() => Exchange(new IPEndPoint(LoadBalancerIp, Port), "hello over the veth pair"));
        Assert.Equal("hello over the veth pair", answer);
        await backendTask.WaitAsync(TimeSpan.FromSeconds(5));

        await forwarder.StopAsync(binding, TimeSpan.Zero, CancellationToken.None);
        var removed = await device.RemoveAddressAsync(LoadBalancerIp, CancellationToken.None);
        Assert.True(removed.Succeeded, removed.Error);
        Assert.DoesNotContain("192.0.2.50", left.Exec("ip -o addr show dev llb-lb"));
        var refused = right.Run(() => TryConnect(new IPEndPoint(LoadBalancerIp, Port)));
        Assert.NotNull(refused);
    }

    private static async Task EchoOnceAsync(TcpListener listener)
    {
        using var accepted = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var buffer = new byte[1024];
        int read;
        while ((read = await accepted.ReceiveAsync(buffer, SocketFlags.None)) > 0)
        {
            await accepted.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
        }

        accepted.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Sends the message, half-closes, and reads the echo to the end (blocking, with timeouts: it runs in a namespace thread).</summary>
    private static string Exchange(IPEndPoint endPoint, string message)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = 5000,
            SendTimeout = 5000,
        };
        client.Connect(endPoint);
        client.Send(Encoding.ASCII.GetBytes(message));
        client.Shutdown(SocketShutdown.Send);
        var received = new StringBuilder();
        var buffer = new byte[1024];
        int read;
        while ((read = client.Receive(buffer)) > 0)
        {
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return received.ToString();
    }

    /// <summary>The error of a connect that should fail, or null when it unexpectedly connected.</summary>
    private static SocketError? TryConnect(IPEndPoint endPoint)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            var attempt = client.BeginConnect(endPoint, null, null);
            if (!attempt.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(3)))
            {
                return SocketError.TimedOut;
            }

            client.EndConnect(attempt);
            return null;
        }
        catch (SocketException exception)
        {
            return exception.SocketErrorCode;
        }
    }
}

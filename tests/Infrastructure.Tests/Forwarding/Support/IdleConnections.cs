using System.Net.Sockets;
using System.Text;
using LoadBalancer.Infrastructure.Forwarding;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>Connections through a forwarder that each moved a small message both ways and then sit idle.</summary>
internal static class IdleConnections
{
    /// <summary>
    /// Opens <paramref name="connections"/> connections through an echo server on <paramref name="engine"/>, echoes a
    /// message on each, and returns how many pipe fds the process holds more than before, with every connection idle.
    /// </summary>
    public static async Task<int> PipeFdsHeldAsync(ForwardingEngine engine, int connections, ITestOutputHelper output)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(echo.Endpoint);

        // Pipes other code let go of but not yet closed (finalizers) must not be counted as the forwarder's.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var pipesBefore = FileDescriptors.CountByKind().GetValueOrDefault("pipe");
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < connections; i++)
            {
                var client = await TestSockets.ConnectAsync(binding);
                clients.Add(client);
                await client.EchoAsync(Encoding.ASCII.GetBytes($"message {i}"));
            }

            var pipeFds = FileDescriptors.CountByKind().GetValueOrDefault("pipe") - pipesBefore;
            output.WriteLine($"{engine}: {connections} idle connections, {pipeFds} pipe fds held by the forwarder");
            return pipeFds;
        }
        finally
        {
            TestSockets.DisposeAll(clients);
        }
    }
}

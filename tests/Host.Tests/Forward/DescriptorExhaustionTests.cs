using System.Net;
using System.Net.Sockets;
using LoadBalancer.Host.Tests.Standalone;

namespace LoadBalancer.Host.Tests.Forward;

/// <summary>
/// The real binary under a small open-files limit (<c>prlimit</c>, in a child process so that this test host keeps its
/// own): when clients would take every descriptor, the daemon refuses them past the budget the limit leaves, says so
/// once, naming the limit and how to raise it, never blames the backend, and lives. (Before the budget, the runtime
/// failed to start a thread-pool thread with no descriptor left and the daemon died with "Out of memory.", seen on one CPU.)
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class DescriptorExhaustionTests
{
    private const int Limit = 256;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("io_uring")]
    [InlineData("splice")]
    [InlineData("copy")]
    public async Task Forward_OutOfDescriptors_WarnsOnceNamingTheLimit_AndNeverBlamesTheBackend(string engine)
    {
        // A backend (in this process) that accepts everything and holds it open.
        using var backend = new TcpListener(IPAddress.Parse("127.0.0.81"), 0);
        backend.Start(backlog: 1024);
        var backendPort = ((IPEndPoint)backend.LocalEndpoint).Port;
        var accepted = new List<Socket>();
        using var stopAccepting = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stopAccepting.IsCancellationRequested)
            {
                accepted.Add(await backend.AcceptSocketAsync(stopAccepting.Token));
            }
        });
        var listen = Net.FreePort("127.0.0.80");
        using var daemon = DaemonProcess.StartUnder(
            ["prlimit", $"--nofile={Limit}:{Limit}", "--"], null,
            "forward", "--listen", $"127.0.0.80:{listen}", "--backend", $"127.0.0.81:{backendPort}", "--engine", engine, "--no-health-check");
        var clients = new List<Socket>();
        try
        {
            Assert.True(await Net.EventuallyAsync(() => daemon.Output.ToString().Contains("forwarding", StringComparison.Ordinal) || daemon.HasExited, Patience), daemon.ToString());

            // Each forwarded connection holds at least two descriptors in the daemon: 2 × Limit clients exhaust it.
            for (var i = 0; i < 2 * Limit && !daemon.Error.ToString().Contains("Out of file descriptors", StringComparison.Ordinal); i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                try
                {
                    await client.ConnectAsync(IPAddress.Parse("127.0.0.80"), listen);
                }
                catch (SocketException)
                {
                    // Expected once the daemon is out of descriptors: it resets the clients it cannot serve.
                }
                if (i % 32 == 31)
                {
                    await Task.Delay(50);
                }
            }

            Assert.True(await daemon.LoggedAsync("Out of file descriptors", Patience), daemon.ToString());
            var error = daemon.Error.ToString();
            Assert.Contains($"The soft limit RLIMIT_NOFILE is {Limit}", error, StringComparison.Ordinal);
            Assert.DoesNotContain("Out of memory", error, StringComparison.Ordinal);
            Assert.Contains("LimitNOFILE=", error, StringComparison.Ordinal);
            Assert.Equal(1, Occurrences(error, "Out of file descriptors"));
            Assert.DoesNotContain("No backend", error, StringComparison.Ordinal);
            Assert.DoesNotContain("ejected", error, StringComparison.OrdinalIgnoreCase);
            Assert.False(daemon.HasExited, daemon.ToString());
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            // The backend closes too, so that the forwarded connections end now and the stop below has nothing to drain.
            await stopAccepting.CancelAsync();
            backend.Stop();
            await accepting.ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (var socket in accepted)
            {
                socket.Dispose();
            }

            // A daemon that has already exited failed an assertion above; signalling it would hide that failure.
            if (!daemon.HasExited)
            {
                daemon.Signal("TERM");
                await daemon.ExitCodeAsync(Patience);
            }
        }
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

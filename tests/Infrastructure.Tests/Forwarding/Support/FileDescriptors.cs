using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// The process's open file descriptors, as /proc/self/fd lists them, narrowed to what a forwarder opens: sockets,
/// pipes and anonymous inodes (epoll, eventfd). Regular files are left out, because the runtime keeps assemblies and
/// symbol files it loads along the way (a stack trace loads System.Diagnostics.StackTrace and a .pdb) open for good.
/// </summary>
internal static class FileDescriptors
{
    private static readonly string[] ForwarderKinds = ["socket:", "pipe:", "anon_inode:"];

    public static int CountForwarderKinds() => CountByKind().Values.Sum();

    /// <summary>Descriptors of the forwarder's kinds by what they point at ("socket", "pipe", "anon_inode:[eventpoll]").</summary>
    public static IReadOnlyDictionary<string, int> CountByKind()
    {
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            string target;
            try
            {
                target = new FileInfo(entry).LinkTarget ?? string.Empty;
            }
            catch (IOException)
            {
                continue; // closed while we looked
            }

            if (!Array.Exists(ForwarderKinds, kind => target.StartsWith(kind, StringComparison.Ordinal)))
            {
                continue;
            }

            var kind = target.StartsWith("anon_inode:", StringComparison.Ordinal) ? target : target[..target.IndexOf(':', StringComparison.Ordinal)];
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }

        return kinds;
    }

    public static string Describe(IReadOnlyDictionary<string, int> kinds) =>
        string.Join(", ", kinds.Select(kind => $"{kind.Key}={kind.Value}"));

    /// <summary>
    /// The runtime opens its socket event loop's descriptors on first use and keeps them; use sockets once, so the count
    /// taken next holds them already.
    /// </summary>
    public static async Task WarmUpSocketsAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = await TestSockets.ConnectAsync((IPEndPoint)listener.LocalEndPoint!);
        using var accepted = await Bounded.WithinAsync(listener.AcceptAsync(), TestSockets.ShortWait, "warm-up accept");
        await Bounded.WithinAsync(ct => client.SendAllAsync("warm"u8.ToArray(), ct), TestSockets.ShortWait, "warm-up send");
        await accepted.ReceiveExactlyAsync(new byte[4], CancellationToken.None);
    }


    /// <summary>The fd count once earlier tests' leftovers (finalizers, closing sockets) have stopped moving it (at most 3 s).</summary>
    public static async Task<int> SettledCountAsync()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var last = CountForwarderKinds();
        var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        for (var stable = 0; stable < 5 && DateTime.UtcNow < giveUp;)
        {
            await Task.Delay(50);
            var now = CountForwarderKinds();
            stable = now == last ? stable + 1 : 0;
            last = now;
        }

        return last;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>
/// Which IP:port pairs have a listening TCP socket, read from /proc/net/tcp: a socket in LISTEN has the kernel complete
/// handshakes for it, so it accepts. Reading the table, not connecting, keeps 5,000 probes out of the daemon's CPU and
/// does not make it forward 5,000 connections to nowhere while it starts; <see cref="ConnectAllAsync"/> confirms it by
/// connecting once each at the end.
/// </summary>
internal static class ListenerTable
{
    private const string Listen = "0A";

    /// <summary>The listening IPv4 endpoints now (of every process in this network namespace).</summary>
    public static HashSet<(uint Ip, int Port)> Listening()
    {
        var listening = new HashSet<(uint, int)>();
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            // "  sl  local_address rem_address   st ...": local address as hex IP (in memory order) : hex port.
            var fields = line.Split(' ', 5, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 4 || fields[3] != Listen)
            {
                continue;
            }

            var colon = fields[1].IndexOf(':', StringComparison.Ordinal);
            listening.Add((
                uint.Parse(fields[1].AsSpan(0, colon), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                int.Parse(fields[1].AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }

        return listening;
    }

    /// <summary>The key <see cref="Listening"/> uses for <paramref name="ip"/>:<paramref name="port"/>.</summary>
    public static (uint Ip, int Port) Key(string ip, int port) =>
        (BitConverter.ToUInt32(IPAddress.Parse(ip).GetAddressBytes()), port);

    /// <summary>
    /// Reads the table every <paramref name="interval"/> until every one of <paramref name="targets"/> listens; the
    /// moment the last one was first seen, and how many were seen by the limit.
    /// </summary>
    public static Task<(long? AllAt, int Seen, int Reads)> WhenAllListeningAsync(
        Func<IReadOnlyCollection<(uint Ip, int Port)>> targets, int expected, TimeSpan interval, TimeSpan limit) => Task.Factory.StartNew(
        () =>
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
            var seen = new HashSet<(uint, int)>();
            var reads = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var table = Listening();
                var at = Stopwatch.GetTimestamp();
                reads++;
                foreach (var target in targets())
                {
                    if (table.Contains(target))
                    {
                        seen.Add(target);
                    }
                }

                if (seen.Count >= expected)
                {
                    return ((long?)at, seen.Count, reads);
                }

                Thread.Sleep(interval);
            }

            return (null, seen.Count, reads);
        },
        CancellationToken.None,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);

    /// <summary>Connects once to each IP:port (a few at a time); how many accepted.</summary>
    public static async Task<int> ConnectAllAsync(IEnumerable<(string Ip, int Port)> targets)
    {
        var accepted = 0;
        await Parallel.ForEachAsync(targets.Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (target, _) =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.ConnectAsync(IPAddress.Parse(target.Ip), target.Port, timeout.Token).ConfigureAwait(false);
                socket.LingerState = new LingerOption(true, 0);
                Interlocked.Increment(ref accepted);
            }
            catch (SocketException reset) when (reset.SocketErrorCode == SocketError.ConnectionReset)
            {
                // Taken and reset by the listener (no node port answers) before the connect reported success.
                Interlocked.Increment(ref accepted);
            }
            catch (Exception failure) when (failure is SocketException or OperationCanceledException)
            {
            }
        }).ConfigureAwait(false);
        return accepted;
    }
}

using System.Globalization;
using System.Net;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// Finds this process's IPv4 TCP sockets by their endpoints (/proc/net/tcp gives the inode, /proc/self/fd the fd), so a
/// test can read the options of a socket the forwarder opened or accepted, which runs in the test's process.
/// </summary>
internal static class ProcessTcpSockets
{
    private const int IPPROTO_TCP = 6;
    private const int TCP_NODELAY = 1;

    /// <summary>The fds of this process's TCP sockets whose remote end is <paramref name="remote"/> (and local end <paramref name="local"/> when given).</summary>
    public static IReadOnlyList<int> Find(IPEndPoint remote, IPEndPoint? local = null)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 9 && fields[2] == Hex(remote) && (local is null || fields[1] == Hex(local)))
            {
                inodes.Add($"socket:[{fields[9]}]");
            }
        }

        var fds = new List<int>();
        foreach (var entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed while we looked
            }

            if (target is not null && inodes.Contains(target))
            {
                fds.Add(int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture));
            }
        }

        return fds;
    }

    public static unsafe bool HasNoDelay(int fd)
    {
        int value = 0;
        int length = sizeof(int);
        Assert.Equal(0, Libc.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &length));
        return value != 0;
    }

    /// <summary>An endpoint as /proc/net/tcp writes it: the address's bytes as a little-endian word, the port big-endian.</summary>
    private static string Hex(IPEndPoint endPoint)
    {
        var bytes = endPoint.Address.MapToIPv4().GetAddressBytes();
        var address = BitConverter.ToUInt32(bytes);
        return string.Create(CultureInfo.InvariantCulture, $"{address:X8}:{endPoint.Port:X4}");
    }
}

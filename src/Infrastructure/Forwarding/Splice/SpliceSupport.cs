using System.Net;
using System.Net.Sockets;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>
/// Checks once that this kernel splices from a TCP socket into a pipe (seccomp profiles, gVisor and non-Linux hosts
/// may not), so the forwarder can fall back to the copy engine instead of failing every connection.
/// </summary>
internal static unsafe class SpliceSupport
{
    private static readonly Lazy<string?> Probe = new(RunProbe);

    /// <summary>Null when splice works; otherwise why not.</summary>
    public static string? UnavailableReason => Probe.Value;

    private static string? RunProbe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "splice(2) is Linux-only";
        }

        try
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(listener.LocalEndPoint!);
            using var server = listener.Accept();
            client.Send([42]);
            int* fds = stackalloc int[2];
            if (Native.pipe2(fds, Native.O_NONBLOCK | Native.O_CLOEXEC) != 0)
            {
                return $"pipe2 failed: {new SocketException(Libc.LastError).Message}";
            }

            try
            {
                var fd = (int)server.SafeHandle.DangerousGetHandle();
                server.ReceiveTimeout = 1000;
                for (var attempt = 0; attempt < 100; attempt++)
                {
                    var moved = Native.splice(fd, null, fds[1], null, 1, Native.SPLICE_F_NONBLOCK);
                    if (moved == 1)
                    {
                        return null;
                    }

                    var error = Libc.LastError;
                    if (moved == 0 || (error != Native.EAGAIN && error != Native.EINTR))
                    {
                        return moved == 0 ? "splice returned EOF" : $"splice failed: {new SocketException(error).Message}";
                    }

                    Thread.Sleep(10);
                }

                return "splice moved nothing within a second";
            }
            finally
            {
                _ = Libc.close(fds[0]);
                _ = Libc.close(fds[1]);
            }
        }
        catch (Exception exception) when (exception is SocketException or EntryPointNotFoundException or DllNotFoundException)
        {
            return exception.Message;
        }
    }
}

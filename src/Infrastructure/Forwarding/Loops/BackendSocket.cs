using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Forwarding.Loops;

internal enum BackendSocketOutcome
{
    Opened,

    /// <summary>Out of descriptors: reported, and the connection is to be reset without another attempt.</summary>
    OutOfDescriptors,

    /// <summary>Any other failure: no other backend would fare better, so the connection gives up connecting.</summary>
    Failed,
}

/// <summary>The socket of a connection's backend attempt, made by socket(2) or by the kernel in an io_uring.</summary>
internal static class BackendSocket
{
    public const int Type = Native.SOCK_STREAM | Native.SOCK_NONBLOCK | Native.SOCK_CLOEXEC;

    /// <summary>socket(2) for the attempt's backend (<see cref="LoopConnection.Backend"/>), with TCP_NODELAY.</summary>
    public static BackendSocketOutcome TryOpen(LoopConnection connection, out int fd)
    {
        fd = Libc.socket(connection.Backend!.NativeAddressFamily, Type, 0);
        if (fd < 0)
        {
            return Failed(connection, Libc.LastError);
        }

        Native.SetNoDelay(fd);
        return BackendSocketOutcome.Opened;
    }

    /// <summary>
    /// The socket could not be made (<paramref name="error"/> is its errno). Not the backend's fault: no retry and no mark
    /// against it; out of descriptors is reported as such rather than as "no backend accepted".
    /// </summary>
    public static BackendSocketOutcome Failed(LoopConnection connection, int error)
    {
        if (!DescriptorExhaustion.IsExhaustion(error))
        {
            return BackendSocketOutcome.Failed;
        }

        connection.Context.OutOfDescriptors("backend socket", error, clientReset: true);
        connection.Backend = null;
        return BackendSocketOutcome.OutOfDescriptors;
    }
}

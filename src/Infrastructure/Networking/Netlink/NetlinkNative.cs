using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>The libc calls behind <see cref="NetlinkSocket"/>; the kernel ABI constants live in <see cref="Rtnetlink"/>.</summary>
internal static unsafe partial class NetlinkNative
{
    private const string Library = "libc";

    public const int AF_NETLINK = 16;
    public const int SOCK_RAW = 3;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int NETLINK_ROUTE = 0;

    public const int SOL_SOCKET = 1;
    public const int SO_RCVBUF = 8;
    public const int SO_RCVTIMEO = 20;
    public const int SOL_NETLINK = 270;
    public const int NETLINK_EXT_ACK = 11;
    public const int NETLINK_GET_STRICT_CHK = 12;

    public const int MSG_TRUNC = 0x20;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ENODEV = 19;
    public const int EEXIST = 17;
    public const int EADDRNOTAVAIL = 99;
    public const int ENOBUFS = 105;

    /// <summary>struct sockaddr_nl: family, padding, port id, multicast groups.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockaddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint PortId;
        public uint Groups;
    }

    /// <summary>struct timeval on 64-bit Linux, for SO_RCVTIMEO.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }


    [LibraryImport(Library, SetLastError = true)]
    public static partial int bind(int fd, SockaddrNl* address, int addressLength);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int getsockname(int fd, SockaddrNl* address, int* addressLength);


    [LibraryImport(Library, SetLastError = true)]
    public static partial nint send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint recvfrom(int fd, byte* buffer, nuint length, int flags, SockaddrNl* from, int* fromLength);


}

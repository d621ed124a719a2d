using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Forwarding.Udp;

/// <summary>The batched datagram calls of the UDP engine (recvmmsg/sendmmsg), and the layouts they take on 64-bit Linux.</summary>
internal static unsafe partial class UdpNative
{
    private const string Library = "libc";

    public const int SOCK_DGRAM = 2;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_DONTWAIT = 0x40;
    public const int ECONNREFUSED = 111;
    public const int EMSGSIZE = 90;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr: the compiler pads as C does (56 bytes on 64-bit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct mmsghdr: a header and the length the kernel received or sent.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MultiMessageHeader
    {
        public MessageHeader Header;
        public uint Length;
    }

    [LibraryImport(Library, SetLastError = true)]
    public static partial int recvmmsg(int fd, MultiMessageHeader* messages, uint count, int flags, void* timeout);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int sendmmsg(int fd, MultiMessageHeader* messages, uint count, int flags);
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Interop;
using Microsoft.Win32.SafeHandles;

namespace LoadBalancer.Infrastructure.Networking.Announcements;

/// <summary>
/// An AF_PACKET socket (whole Ethernet frames, SOCK_RAW), which .NET's <c>Socket</c> cannot bind to a device index.
/// Calls answer 0 or an errno instead of throwing: a missing device is an expected outcome here, not a bug.
/// </summary>
internal sealed unsafe partial class PacketSocket : SafeHandleMinusOneIsInvalid
{
    public const ushort EtherTypeArp = 0x0806;
    public const ushort EtherTypeIPv6 = 0x86DD;

    /// <summary>ARPHRD_ETHER: the only hardware type whose frames this code knows how to build.</summary>
    public const ushort HardwareTypeEthernet = 1;

    public const int EAGAIN = 11;

    private const string Library = "libc";
    private const int AF_PACKET = 17;
    private const int SOCK_RAW = 3;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int SOL_SOCKET = 1;
    private const int SO_RCVTIMEO = 20;

    public PacketSocket()
        : base(ownsHandle: true)
    {
    }

    /// <summary>
    /// Opens a socket that receives frames of <paramref name="etherType"/>; 0 receives nothing, which is what a socket
    /// that only sends wants (frames would otherwise queue up in a buffer nobody reads).
    /// </summary>
    public static int TryOpen(ushort etherType, out PacketSocket socket)
    {
        socket = new PacketSocket();
        var fd = Libc.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, BinaryPrimitives.ReverseEndianness(etherType));
        if (fd < 0)
        {
            return Libc.LastError;
        }

        socket.SetHandle(fd);
        return 0;
    }

    /// <summary>Binds to one device; ENODEV when no device has that index in this socket's network namespace.</summary>
    public int Bind(int interfaceIndex, ushort etherType)
    {
        var address = LinkAddress(interfaceIndex, etherType, []);
        return Check(bind(Descriptor, &address, sizeof(SockaddrLl)));
    }

    /// <summary>
    /// The bound device's hardware type and address, as the kernel reports them for the socket's own device index, so
    /// it is right in any network namespace (unlike /sys/class/net, which shows the namespace sysfs was mounted in).
    /// </summary>
    public int GetHardwareAddress(out ushort hardwareType, out byte[] hardwareAddress)
    {
        SockaddrLl address;
        var length = sizeof(SockaddrLl);
        hardwareType = 0;
        hardwareAddress = [];
        if (getsockname(Descriptor, &address, &length) != 0)
        {
            return Libc.LastError;
        }

        hardwareType = address.HardwareType;
        hardwareAddress = new ReadOnlySpan<byte>(address.Address, Math.Min((int)address.AddressLength, 8)).ToArray();
        return 0;
    }

    public int Send(ReadOnlySpan<byte> frame, int interfaceIndex, ushort etherType, ReadOnlySpan<byte> destination)
    {
        var address = LinkAddress(interfaceIndex, etherType, destination);
        fixed (byte* data = frame)
        {
            var sent = sendto(Descriptor, data, (nuint)frame.Length, 0, &address, sizeof(SockaddrLl));
            return sent < 0 ? Libc.LastError : 0;
        }
    }

    public int SetReceiveTimeout(TimeSpan timeout)
    {
        var value = new TimeValue
        {
            Seconds = (long)timeout.TotalSeconds,
            Microseconds = timeout.Microseconds + (timeout.Milliseconds * 1000L),
        };
        return Check(Libc.setsockopt(Descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof(TimeValue)));
    }

    /// <summary>One frame into <paramref name="buffer"/>; EAGAIN when the receive timeout passed first.</summary>
    public int Receive(Span<byte> buffer, out int length)
    {
        fixed (byte* data = buffer)
        {
            var received = recv(Descriptor, data, (nuint)buffer.Length, 0);
            length = (int)Math.Max(received, 0);
            return received < 0 ? Libc.LastError : 0;
        }
    }

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;

    private int Descriptor => (int)handle;

    private static int Check(int result) => result == 0 ? 0 : Libc.LastError;

    private static SockaddrLl LinkAddress(int interfaceIndex, ushort etherType, ReadOnlySpan<byte> hardwareAddress)
    {
        var address = new SockaddrLl
        {
            Family = AF_PACKET,
            Protocol = BinaryPrimitives.ReverseEndianness(etherType),
            InterfaceIndex = interfaceIndex,
            AddressLength = (byte)Math.Min(hardwareAddress.Length, 8),
        };
        hardwareAddress[..address.AddressLength].CopyTo(new Span<byte>(address.Address, 8));
        return address;
    }

    /// <summary>struct sockaddr_ll from linux/if_packet.h; the protocol is in network byte order.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int InterfaceIndex;
        public ushort HardwareType;
        public byte PacketType;
        public byte AddressLength;
        public fixed byte Address[8];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeValue
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int bind(int fd, SockaddrLl* address, int length);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int getsockname(int fd, SockaddrLl* address, int* length);

    [LibraryImport(Library, SetLastError = true)]
    private static partial nint sendto(int fd, byte* data, nuint length, int flags, SockaddrLl* address, int addressLength);

    [LibraryImport(Library, SetLastError = true)]
    private static partial nint recv(int fd, byte* data, nuint length, int flags);
}

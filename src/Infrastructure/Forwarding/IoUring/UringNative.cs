using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>
/// The io_uring ABI (linux/io_uring.h) and the three system calls, reached through libc's syscall(2) so that no
/// native library ships with the daemon. Only what the engine uses is declared.
/// </summary>
internal static unsafe partial class UringNative
{
    private const string Library = "libc";

    // x86-64 numbers; aarch64 shares them (the io_uring calls were added after the tables were unified).
    public const long SYS_io_uring_setup = 425;
    public const long SYS_io_uring_enter = 426;
    public const long SYS_io_uring_register = 427;

    public const uint IORING_SETUP_CLAMP = 1u << 4;
    public const uint IORING_SETUP_SUBMIT_ALL = 1u << 7;
    public const uint IORING_SETUP_COOP_TASKRUN = 1u << 8;
    public const uint IORING_SETUP_SINGLE_ISSUER = 1u << 12;

    public const uint IORING_FEAT_SINGLE_MMAP = 1u << 0;
    public const uint IORING_FEAT_NODROP = 1u << 1;
    public const uint IORING_FEAT_SUBMIT_STABLE = 1u << 2;
    public const uint IORING_FEAT_FAST_POLL = 1u << 5;
    public const uint IORING_FEAT_EXT_ARG = 1u << 8;

    public const uint IORING_ENTER_GETEVENTS = 1u << 0;
    public const uint IORING_ENTER_EXT_ARG = 1u << 3;

    public const long IORING_OFF_SQ_RING = 0;
    public const long IORING_OFF_SQES = 0x10000000;

    public const byte IORING_OP_NOP = 0;
    public const byte IORING_OP_POLL_ADD = 6;
    public const byte IORING_OP_ACCEPT = 13;
    public const byte IORING_OP_ASYNC_CANCEL = 14;
    public const byte IORING_OP_LINK_TIMEOUT = 15;
    public const byte IORING_OP_CONNECT = 16;
    public const byte IORING_OP_CLOSE = 19;
    public const byte IORING_OP_READ = 22;
    public const byte IORING_OP_SEND = 26;
    public const byte IORING_OP_RECV = 27;
    public const byte IORING_OP_SHUTDOWN = 34;
    public const byte IORING_OP_SOCKET = 45;

    public const byte IOSQE_IO_LINK = 1 << 2;
    public const byte IOSQE_BUFFER_SELECT = 1 << 5;

    public const ushort IORING_ACCEPT_MULTISHOT = 1;
    public const uint IORING_ASYNC_CANCEL_ALL = 1u << 0;
    public const uint IORING_ASYNC_CANCEL_FD = 1u << 1;

    public const uint IORING_CQE_F_BUFFER = 1u << 0;
    public const uint IORING_CQE_F_MORE = 1u << 1;
    public const int IORING_CQE_BUFFER_SHIFT = 16;

    public const uint IORING_REGISTER_PROBE = 8;
    public const uint IORING_REGISTER_PBUF_RING = 22;
    public const uint IORING_UNREGISTER_PBUF_RING = 23;
    public const ushort IO_URING_OP_SUPPORTED = 1;

    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_SHARED = 1;
    public const int MAP_POPULATE = 0x8000;

    public const ushort POLLIN = 0x001;
    public const ushort POLLOUT = 0x004;
    public const ushort POLLERR = 0x008;
    public const ushort POLLHUP = 0x010;
    public const ushort POLLRDHUP = 0x2000;

    public const int ETIME = 62;
    public const int EBUSY = 16;
    public const int ECANCELED = 125;
    public const int ENOENT = 2;
    public const int EALREADY = 114;
    public const int EPERM = 1;
    public const int ENOSYS = 38;
    public const int EINVAL = 22;

    /// <summary>struct io_uring_sqe: 64 bytes, unions flattened to the fields the engine writes.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    public struct Sqe
    {
        [FieldOffset(0)] public byte Opcode;
        [FieldOffset(1)] public byte Flags;
        [FieldOffset(2)] public ushort IoPriority;
        [FieldOffset(4)] public int Fd;

        /// <summary>off / addr2: the sockaddr length of a connect, the splice source offset (-1 for sockets and pipes).</summary>
        [FieldOffset(8)] public ulong Offset;

        /// <summary>addr / splice_off_in.</summary>
        [FieldOffset(16)] public ulong Address;
        [FieldOffset(24)] public uint Length;

        /// <summary>rw_flags, msg_flags, accept_flags, cancel_flags, splice_flags, poll32_events, timeout_flags: one union.</summary>
        [FieldOffset(28)] public uint OpFlags;
        [FieldOffset(32)] public ulong UserData;
        [FieldOffset(40)] public ushort BufferGroup;
        [FieldOffset(42)] public ushort Personality;

        /// <summary>splice_fd_in / file_index.</summary>
        [FieldOffset(44)] public int SpliceFdIn;
        [FieldOffset(48)] public ulong Address3;
        [FieldOffset(56)] public ulong Pad2;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Cqe
    {
        public ulong UserData;
        public int Result;
        public uint Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SqRingOffsets
    {
        public uint Head;
        public uint Tail;
        public uint RingMask;
        public uint RingEntries;
        public uint Flags;
        public uint Dropped;
        public uint Array;
        public uint Resv1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CqRingOffsets
    {
        public uint Head;
        public uint Tail;
        public uint RingMask;
        public uint RingEntries;
        public uint Overflow;
        public uint Cqes;
        public uint Flags;
        public uint Resv1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Params
    {
        public uint SqEntries;
        public uint CqEntries;
        public uint Flags;
        public uint SqThreadCpu;
        public uint SqThreadIdle;
        public uint Features;
        public uint WqFd;
        public fixed uint Resv[3];
        public SqRingOffsets SqOff;
        public CqRingOffsets CqOff;
    }

    /// <summary>struct io_uring_buf: one entry of a provided-buffer ring; entry 0's last two bytes are the ring's tail.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Buf
    {
        public ulong Address;
        public uint Length;
        public ushort BufferId;
        public ushort Resv;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct BufReg
    {
        public ulong RingAddress;
        public uint RingEntries;
        public ushort GroupId;
        public ushort Pad;
        public fixed ulong Resv[3];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct GetEventsArg
    {
        public ulong SigMask;
        public uint SigMaskSize;
        public uint Pad;
        public ulong Timespec;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct KernelTimespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ProbeHeader
    {
        public byte LastOp;
        public byte OpsLength;
        public ushort Resv;
        public fixed uint Resv2[3];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ProbeOp
    {
        public byte Op;
        public byte Resv;
        public ushort Flags;
        public uint Resv2;
    }

    /// <summary>glibc's syscall(2) is assembly that reads no va_list, so declaring it with fixed arguments is safe.</summary>
    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport(Library, SetLastError = true)]
    public static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int munmap(void* address, nuint length);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int getpeername(int fd, byte* address, int* addressLength);

    public static int Setup(uint entries, Params* parameters) =>
        (int)Syscall(SYS_io_uring_setup, entries, (long)parameters, 0, 0, 0, 0);

    public static int Enter(int fd, uint toSubmit, uint minComplete, uint flags, void* argument, nuint argumentSize) =>
        (int)Syscall(SYS_io_uring_enter, fd, toSubmit, minComplete, flags, (long)argument, (long)argumentSize);

    public static int Register(int fd, uint opcode, void* argument, uint count) =>
        (int)Syscall(SYS_io_uring_register, fd, opcode, (long)argument, count, 0, 0);
}

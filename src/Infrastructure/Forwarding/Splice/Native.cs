using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>The Linux calls the splice engine makes directly: it owns its fds and never hands them to .NET's event loop.</summary>
internal static unsafe partial class Native
{
    private const string Library = "libc";

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EINPROGRESS = 115;
    public const int ECONNRESET = 104;
    public const int EPIPE = 32;
    public const int EMFILE = 24;
    public const int ENFILE = 23;
    public const int ENOBUFS = 105;
    public const int ENOMEM = 12;
    public const int ECONNABORTED = 103;

    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int SOCK_STREAM = 1;
    public const int SOCK_NONBLOCK = O_NONBLOCK;
    public const int SOCK_CLOEXEC = O_CLOEXEC;
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;

    public const int SOL_SOCKET = 1;
    public const int SO_ERROR = 4;
    public const int SO_LINGER = 13;
    public const int IPPROTO_TCP = 6;
    public const int TCP_NODELAY = 1;
    public const int SHUT_WR = 1;
    public const int MSG_NOSIGNAL = 0x4000;

    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int F_SETPIPE_SZ = 1031;
    public const int F_GETPIPE_SZ = 1032;

    public const uint SPLICE_F_MOVE = 1;
    public const uint SPLICE_F_NONBLOCK = 2;

    public const int EPOLL_CLOEXEC = O_CLOEXEC;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLEXCLUSIVE = 1u << 28;
    public const uint EPOLLET = 1u << 31;

    public const int EFD_NONBLOCK = O_NONBLOCK;
    public const int EFD_CLOEXEC = O_CLOEXEC;

    /// <summary>x86-64 packs epoll_event to 12 bytes; other 64-bit ABIs align it to 16.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEventPacked
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct EpollEventAligned
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Linger
    {
        public int OnOff;
        public int Seconds;
    }

    public static bool PackedEpollEvents { get; } = RuntimeInformation.ProcessArchitecture == Architecture.X64;

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint len, uint flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int pipe2(int* pipefd, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);



    [LibraryImport(Library, SetLastError = true)]
    public static partial int connect(int fd, byte* address, int addressLength);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int accept4(int fd, byte* address, int* addressLength, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    /// <summary>For the PROXY protocol header; MSG_NOSIGNAL so a peer that went away is EPIPE, not a signal.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial nint send(int fd, void* buffer, nuint length, int flags);



    [LibraryImport(Library, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, void* eventPointer);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int epoll_wait(int epfd, void* events, int maxEvents, int timeout);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint read(int fd, void* buffer, nuint count);


    public static int EpollControl(int epfd, int op, int fd, uint events, ulong data)
    {
        if (PackedEpollEvents)
        {
            var ev = new EpollEventPacked { Events = events, Data = data };
            return epoll_ctl(epfd, op, fd, &ev);
        }

        var aligned = new EpollEventAligned { Events = events, Data = data };
        return epoll_ctl(epfd, op, fd, &aligned);
    }

    public static int GetSocketError(int fd)
    {
        int value = 0;
        int length = sizeof(int);
        return Libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 ? value : Libc.LastError;
    }

    public static void SetNoDelay(int fd)
    {
        int on = 1;
        _ = Libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(int));
    }

    /// <summary>Closes a connection's socket: with a reset to pass one on (<paramref name="reset"/>), else with a FIN.</summary>
    public static void CloseSocket(int fd, bool reset)
    {
        if (reset)
        {
            CloseWithReset(fd);
        }
        else
        {
            _ = Libc.close(fd);
        }
    }

    /// <summary>Close with SO_LINGER 0: the peer gets a reset instead of a FIN, which is how a reset is passed on.</summary>
    public static void CloseWithReset(int fd)
    {
        SetLingerZero(fd);
        _ = Libc.close(fd);
    }

    /// <summary>SO_LINGER 0: the close that follows sends a reset instead of a FIN.</summary>
    public static void SetLingerZero(int fd)
    {
        var linger = new Linger { OnOff = 1, Seconds = 0 };
        _ = Libc.setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(Linger));
    }
}

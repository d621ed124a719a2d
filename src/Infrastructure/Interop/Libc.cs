using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Interop;

/// <summary>
/// The libc socket calls every native adapter needs (the splice engine, rtnetlink, packet sockets), and the open/fsync
/// pair the standalone state file syncs its directory with, declared once.
/// Calls with adapter-specific address structs (bind, sendto, ...) stay with their adapter.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    [LibraryImport(Library, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, int length);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int getsockopt(int fd, int level, int name, void* value, int* length);

    /// <summary>
    /// Opens a directory so that <see cref="fsync"/> can make a rename in it durable: .NET refuses to open a directory.
    /// Only the two-argument form (no O_CREAT, so no mode) is declared.
    /// </summary>
    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int fsync(int fd);

    /// <summary>errno of the last call above (or of any LibraryImport with SetLastError).</summary>
    public static int LastError => Marshal.GetLastPInvokeError();
}

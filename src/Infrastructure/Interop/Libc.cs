using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Interop;

/// <summary>
/// The libc socket calls every native adapter needs (the splice engine, rtnetlink, packet sockets), declared once.
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

    /// <summary>errno of the last call above (or of any LibraryImport with SetLastError).</summary>
    public static int LastError => Marshal.GetLastPInvokeError();
}

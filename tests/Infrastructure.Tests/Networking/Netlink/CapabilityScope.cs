using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Tests.Networking.Netlink;

/// <summary>
/// Runs an action with CAP_NET_ADMIN out of the calling thread's effective set, then puts it back. Linux keeps
/// capabilities per thread, so only this thread loses it (the namespace threads of the test support are fresh and end
/// with the action); the permitted set is untouched, which is what lets the capability be raised again.
/// </summary>
internal static unsafe partial class CapabilityScope
{
    private const uint LinuxCapabilityVersion3 = 0x20080522;
    private const int CapNetAdmin = 12;

    public static T WithoutNetAdmin<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var header = new Header { Version = LinuxCapabilityVersion3 };
        var data = stackalloc Data[2];
        Check(capget(&header, data), "capget");
        var saved = data[0].Effective;
        data[0].Effective &= ~(1u << CapNetAdmin);
        Check(capset(&header, data), "capset (drop CAP_NET_ADMIN)");
        try
        {
            return action();
        }
        finally
        {
            data[0].Effective = saved;
            Check(capset(&header, data), "capset (restore CAP_NET_ADMIN)");
        }
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{call} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Header
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Data
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int capget(Header* header, Data* data);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int capset(Header* header, Data* data);
}

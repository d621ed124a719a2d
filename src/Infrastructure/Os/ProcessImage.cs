using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Os;

/// <summary>
/// execv(2): this process becomes another program, keeping its id, its standard streams and its signal dispositions
/// (what a supervisor, a benchmark or systemd's <c>MAINPID</c> follows). Descriptors .NET opened are close-on-exec.
/// </summary>
public static partial class ProcessImage
{
    /// <summary>Runs <paramref name="path"/> with <paramref name="arguments"/> (the first is its argv[0]) in place of
    /// this process. Returns only when the kernel refused, with its reason.</summary>
    public static string Replace(string path, IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(arguments);
        var native = new IntPtr[arguments.Count + 1];
        var file = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            for (var i = 0; i < arguments.Count; i++)
            {
                native[i] = Marshal.StringToCoTaskMemUTF8(arguments[i]);
            }

            execv(file, native);
            return Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
        }
        finally
        {
            foreach (var argument in native)
            {
                Marshal.FreeCoTaskMem(argument);
            }

            Marshal.FreeCoTaskMem(file);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int execv(IntPtr path, IntPtr[] arguments);
}

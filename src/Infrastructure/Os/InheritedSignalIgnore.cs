using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Os;

/// <summary>
/// A signal a parent set to "ignore" stays ignored across exec, and .NET keeps such an inherited ignore when a
/// <see cref="PosixSignalRegistration"/> is created for it: under <c>nohup</c> (which ignores SIGHUP) the daemon's SIGHUP
/// reload would never run. A daemon that handles a signal means to handle it, as nginx reloads under nohup too, so the
/// ignore is put back to the default action just before the handler is registered.
/// </summary>
public static unsafe partial class InheritedSignalIgnore
{
    private const nint Default = 0;   // SIG_DFL
    private const nint Ignore = 1;    // SIG_IGN

    /// <summary>
    /// Resets <paramref name="signal"/> to its default action when it is ignored now; answers whether it was. Call it
    /// right before registering the handler: until then the default action (for SIGHUP, ending the process) applies.
    /// </summary>
    public static bool Clear(PosixSignal signal) => IsIgnored(signal) && signal_(Number(signal), Default) == Ignore;

    /// <summary>Whether <paramref name="signal"/> is ignored now (as /proc/self/status's SigIgn shows it).</summary>
    public static bool IsIgnored(PosixSignal signal)
    {
        // struct sigaction is 152 bytes on 64-bit glibc and starts with the handler; only that first field is read.
        var current = stackalloc byte[256];
        return sigaction(Number(signal), null, current) == 0 && *(nint*)current == Ignore;
    }

    /// <summary>
    /// The Linux number: <see cref="PosixSignal"/>'s named values are negative stand-ins, and a signal without a name
    /// (SIGUSR1 is 10) is its number. SIGHUP is the one stand-in mapped: SIGINT and SIGQUIT stay ignored when inherited
    /// so (.NET's choice, so that children started from a shell keep them ignored), and SIGTERM is not cleared here.
    /// </summary>
    private static int Number(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        _ when (int)signal > 0 => (int)signal,
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, $"signal '{signal}' has no Linux number here"),
    };

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static partial int sigaction(int signal, void* action, void* previous);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint signal_(int signal, nint handler);
}

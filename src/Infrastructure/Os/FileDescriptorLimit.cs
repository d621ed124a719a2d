using System.Globalization;
using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Os;

/// <summary>RLIMIT_NOFILE as getrlimit(2) reads it: the soft limit the kernel enforces and the hard ceiling for it.</summary>
public readonly record struct DescriptorLimits(ulong Soft, ulong Hard)
{
    /// <summary>"20000" or "unlimited", for messages.</summary>
    public static string Describe(ulong limit) =>
        limit == FileDescriptorLimit.Unlimited ? "unlimited" : limit.ToString(CultureInfo.InvariantCulture);

    public override string ToString() => $"soft {Describe(Soft)}, hard {Describe(Hard)}";
}

/// <summary>What <see cref="FileDescriptorLimit.Raise"/> did: the soft limit before and after, the hard limit, and why it could not when it could not.</summary>
public sealed record DescriptorLimitChange(ulong SoftBefore, ulong SoftAfter, ulong Hard, string? Failure)
{
    public bool Raised => SoftAfter > SoftBefore;

    public override string ToString() => Failure is not null
        ? $"open files: soft limit {DescriptorLimits.Describe(SoftBefore)}, hard {DescriptorLimits.Describe(Hard)}; could not raise the soft limit: {Failure}"
        : Raised
            ? $"open files: raised the soft limit from {DescriptorLimits.Describe(SoftBefore)} to {DescriptorLimits.Describe(SoftAfter)} (the hard limit)"
            : $"open files: soft limit {DescriptorLimits.Describe(SoftAfter)}, already the hard limit";
}

/// <summary>
/// The process's open-file limit. A forwarder holds two descriptors per connection (three or four with splice pipes),
/// and the usual soft default of 1024 is reached by a few hundred clients, while the hard limit (what systemd's
/// <c>LimitNOFILE=</c> or <c>ulimit -Hn</c> sets) is usually far higher: the daemon raises the soft limit to it at start.
/// </summary>
/// <remarks>
/// The .NET runtime already raises the soft limit on Linux when it starts (unless told not to), so the raise is often
/// a no-op; it is done anyway, because that behaviour is the runtime's to change, and the log line says what holds.
/// </remarks>
public static unsafe partial class FileDescriptorLimit
{
    /// <summary>RLIM_INFINITY.</summary>
    public const ulong Unlimited = ulong.MaxValue;

    private const int RlimitNofile = 7;
    private const int Eperm = 1;
    private const int Einval = 22;

    /// <summary>The limits now, or null when getrlimit fails (it does not on Linux; no exception for a log line).</summary>
    public static DescriptorLimits? Current()
    {
        Rlimit limit;
        return getrlimit(RlimitNofile, &limit) == 0 ? new DescriptorLimits(limit.Current, limit.Maximum) : null;
    }

    /// <summary>Raises the soft limit to the hard one; answers what it was, what it is and the hard limit.</summary>
    public static DescriptorLimitChange Raise()
    {
        Rlimit limit;
        if (getrlimit(RlimitNofile, &limit) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            return new DescriptorLimitChange(0, 0, 0, $"getrlimit(RLIMIT_NOFILE): {Marshal.GetPInvokeErrorMessage(error)}");
        }

        var before = limit.Current;
        if (before >= limit.Maximum)
        {
            return new DescriptorLimitChange(before, before, limit.Maximum, null);
        }

        // An unlimited hard limit is not a value the kernel takes for open files (it caps them at fs.nr_open): ask for
        // that cap instead.
        var target = limit.Maximum == Unlimited ? NrOpen() ?? before : limit.Maximum;
        var raised = new Rlimit { Current = target, Maximum = limit.Maximum };
        if (setrlimit(RlimitNofile, &raised) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            var why = error switch
            {
                Eperm => "not permitted",
                Einval => "the kernel refused the value",
                _ => Marshal.GetPInvokeErrorMessage(error),
            };
            return new DescriptorLimitChange(before, before, limit.Maximum, $"setrlimit(RLIMIT_NOFILE, {target}): {why} (errno {error})");
        }

        return new DescriptorLimitChange(before, Current()?.Soft ?? target, limit.Maximum, null);
    }

    /// <summary>How many descriptors this process holds now (the entries of /proc/self/fd); 0 when that cannot be read.</summary>
    public static int OpenNow()
    {
        try
        {
            // The enumeration's own descriptor is counted too: one more than the daemon holds, on the safe side.
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Sets the soft limit (tests lower it for a bounded window and restore it); answers errno, 0 when done.</summary>
    internal static int SetSoft(ulong soft)
    {
        Rlimit limit;
        if (getrlimit(RlimitNofile, &limit) != 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        var changed = new Rlimit { Current = soft, Maximum = limit.Maximum };
        return setrlimit(RlimitNofile, &changed) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    private static ulong? NrOpen()
    {
        try
        {
            return ulong.TryParse(File.ReadAllText("/proc/sys/fs/nr_open").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, Rlimit* limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, Rlimit* limit);
}

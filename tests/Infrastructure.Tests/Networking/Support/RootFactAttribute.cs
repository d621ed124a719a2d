using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Tests.Networking.Support;

/// <summary>
/// A fact that only runs as root with iproute2 installed, because it creates network namespaces and veth pairs.
/// Elsewhere it is reported as skipped with the reason, instead of failing on a missing permission.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!RootRequirement.IsMet)
        {
            Skip = RootRequirement.SkipReason;
        }
    }
}

/// <summary>The theory form of <see cref="RootFactAttribute"/>.</summary>
public sealed class RootTheoryAttribute : TheoryAttribute
{
    public RootTheoryAttribute()
    {
        if (!RootRequirement.IsMet)
        {
            Skip = RootRequirement.SkipReason;
        }
    }
}

internal static partial class RootRequirement
{
    public const string SkipReason = "needs root and iproute2: creates network namespaces and veth pairs";

    private static readonly Lazy<bool> Met = new(Evaluate);

    public static bool IsMet => Met.Value;

    private static bool Evaluate() => IsRoot() && IpToolPath() is not null;

    /// <summary>The first `ip` found on PATH (or in the usual sbin folders, which PATH may lack under a test runner).</summary>
    public static string? IpToolPath()
    {
        var folders = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        return folders.Select(folder => Path.Combine(folder, "ip")).FirstOrDefault(File.Exists);
    }

    private static bool IsRoot()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return geteuid() == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return Environment.UserName == "root";
        }
    }

    [LibraryImport("libc")]
    private static partial uint geteuid();
}

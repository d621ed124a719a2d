using System.Security.Cryptography;
using System.Text;

namespace LoadBalancer.Infrastructure.Standalone.State;

/// <summary>
/// Where the state file goes when <c>--state-file</c> is not given: systemd's <c>$STATE_DIRECTORY</c> (its first
/// entry); else <c>/var/lib/little-load-balancer</c> for root; else <c>$XDG_STATE_HOME/little-load-balancer</c>; else
/// <c>~/.local/state/little-load-balancer</c>. The file is named after the Services file, plus a hash of its full
/// path, so two Services files never share a state.
/// </summary>
public static class StandaloneStatePath
{
    public const string DirectoryName = "little-load-balancer";

    public const string RootDirectory = "/var/lib/" + DirectoryName;

    public const string FileSuffix = ".state.json";

    /// <param name="servicesFile">The Services file, as given; a relative path is taken from the current directory.</param>
    /// <param name="environment">The process's own when null.</param>
    /// <exception cref="InvalidOperationException">No rule applies: not root, and no state or home directory is known.</exception>
    public static string Default(string servicesFile, StandaloneStateEnvironment? environment = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(servicesFile);
        environment ??= StandaloneStateEnvironment.FromProcess();
        return System.IO.Path.Combine(Directory(environment), FileName(servicesFile));
    }

    /// <summary><c>&lt;name without extension&gt;-&lt;first 8 hex digits of SHA-256 of the full path&gt;.state.json</c>.</summary>
    public static string FileName(string servicesFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(servicesFile);
        var fullPath = System.IO.Path.GetFullPath(servicesFile);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(fullPath));
        return $"{System.IO.Path.GetFileNameWithoutExtension(fullPath)}-{Convert.ToHexStringLower(hash.AsSpan(0, 4))}{FileSuffix}";
    }

    private static string Directory(StandaloneStateEnvironment environment)
    {
        // systemd's StateDirectory= sets it, colon-separated when the unit names several; the first is the unit's own.
        var systemd = environment.Variable("STATE_DIRECTORY")?
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(System.IO.Path.IsPathFullyQualified);
        if (systemd is not null)
        {
            return systemd;
        }

        if (environment.IsRoot)
        {
            return RootDirectory;
        }

        // The XDG base directory specification: a relative value is invalid and is ignored.
        var xdg = environment.Variable("XDG_STATE_HOME");
        if (!string.IsNullOrEmpty(xdg) && System.IO.Path.IsPathFullyQualified(xdg))
        {
            return System.IO.Path.Combine(xdg, DirectoryName);
        }

        if (!string.IsNullOrEmpty(environment.Home) && System.IO.Path.IsPathFullyQualified(environment.Home))
        {
            return System.IO.Path.Combine(environment.Home, ".local", "state", DirectoryName);
        }

        throw new InvalidOperationException(
            $"no directory for the state file: not root, and neither STATE_DIRECTORY, XDG_STATE_HOME nor a home directory ('{environment.Home}') is set; pass --state-file");
    }
}

/// <summary>What <see cref="StandaloneStatePath.Default"/> reads from the process, replaceable in tests.</summary>
public sealed record StandaloneStateEnvironment
{
    /// <summary>An environment variable's value, or null when it is not set.</summary>
    public required Func<string, string?> Variable { get; init; }

    public required bool IsRoot { get; init; }

    /// <summary>The user's home directory; empty when unknown.</summary>
    public required string Home { get; init; }

    public static StandaloneStateEnvironment FromProcess() => new()
    {
        Variable = Environment.GetEnvironmentVariable,
        IsRoot = Environment.IsPrivilegedProcess,
        Home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
    };
}

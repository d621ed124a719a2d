using k8s;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Infrastructure.Kubernetes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Hosting;

/// <summary>
/// What a test replaces when it runs the command line in-process; the real process uses none of it. Nothing here
/// changes what a mode composes, only where its inputs come from and where its log goes.
/// </summary>
public sealed record HostSeams
{
    public static readonly HostSeams None = new();

    /// <summary>The environment variables the configuration reads; null: the process's.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>Where a configuration file is looked for when none is named.</summary>
    public ConfigurationFileLocations ConfigurationFiles { get; init; } = new();

    /// <summary>Adds the log providers in place of the console (e.g. one writing to a test's buffer).</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }

    /// <summary>Changes the container after the mode composed it (e.g. a reconciler without drain).</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>Called with the container once the host is built, before it starts.</summary>
    public Action<IServiceProvider>? Built { get; init; }

    /// <summary>Cluster mode: this client instead of one built from the kubeconfig.</summary>
    public IKubernetes? KubernetesClient { get; init; }

    /// <summary>Cluster mode: adjusts the adapter's options derived from the configuration (informer backoff).</summary>
    public Func<KubernetesAdapterOptions, KubernetesAdapterOptions>? KubernetesAdapter { get; init; }

    /// <summary>The start-up checks (device, capabilities); null: this machine's.</summary>
    public LoadBalancer.Infrastructure.Preflight.IStartupPreflight? Preflight { get; init; }

    /// <summary>Whether to behave as under systemd; null asks systemd.</summary>
    public bool? UnderSystemd { get; init; }
}

/// <summary>One run of the command line: where it writes, and what tests replaced.</summary>
public sealed record RunContext(TextWriter Output, TextWriter Error, HostSeams Seams)
{
    public IReadOnlyDictionary<string, string?> Environment { get; } = Seams.Environment ?? ConfigurationInputs.ProcessEnvironment();

    public bool UnderSystemd => Seams.UnderSystemd ?? Microsoft.Extensions.Hosting.Systemd.SystemdHelpers.IsSystemdService();

    public async Task<int> FailAsync(int exitCode, IEnumerable<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        foreach (var problem in problems)
        {
            await Error.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
        }

        return exitCode;
    }
}

/// <summary>The process's exit codes (the contract of issue 11).</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A runtime or start failure: a check that found problems, a source that could not start.</summary>
    public const int Failure = 1;

    /// <summary>A bad flag, a bad value, an invalid configuration.</summary>
    public const int UsageError = 2;
}

/// <summary>How the host ended: set by the service that failed, read after the host stopped.</summary>
public sealed class DaemonOutcome
{
    private int _exitCode;

    public int ExitCode => Volatile.Read(ref _exitCode);

    public void Fail(int exitCode) => Interlocked.CompareExchange(ref _exitCode, exitCode, ExitCodes.Success);
}

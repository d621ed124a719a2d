using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Infrastructure.Os;

namespace LoadBalancer.Host.Forward;

/// <summary>
/// <c>loadbalancer forward</c> as the native forwarder (src/Forwarder, compiled ahead of time) when it is published
/// beside this program: the same command, parser and composition, without the shared runtime's images and JIT
/// (docs/adr/0011-memory-footprint.md). The process becomes it (execv), so its id, streams and signals are the ones
/// the caller started; without it, <c>forward</c> runs in this process as before.
/// </summary>
public static class NativeForwarder
{
    public const string FileName = "loadbalancer-forward";

    /// <summary>The switch src/Forwarder is compiled with (a constant there, so its compiler trims the other branch).</summary>
    public const string ForwardOnlySwitch = "LoadBalancer.Host.ForwardOnly";

    /// <summary>
    /// True in the native forwarder. Its compiler keeps the entry point of every assembly it keeps metadata of, this
    /// program's too, and that entry point reaches every command (the Kubernetes client and its thousands of models,
    /// the admin endpoint): with this constant it reaches only <c>forward</c>.
    /// </summary>
    [FeatureSwitchDefinition(ForwardOnlySwitch)]
    public static bool IsForwardOnly => AppContext.TryGetSwitch(ForwardOnlySwitch, out var on) && on;

    /// <summary>Becomes the native forwarder when <paramref name="args"/> name <c>forward</c> and it is published beside
    /// this program; returns when not, or when the kernel refused (said on <paramref name="error"/>: forward then runs
    /// in this process).</summary>
    public static void RunIfPublished(IReadOnlyList<string> args, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        var path = Path.Combine(AppContext.BaseDirectory, FileName);
        if (args.Count == 0 || args[0] != "forward" || !File.Exists(path))
        {
            return;
        }

        var refused = ProcessImage.Replace(path, [path, .. args]);
        error.WriteLine($"warning: could not run {path} ({refused}); forwarding in this process");
    }
}

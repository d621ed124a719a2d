namespace LoadBalancer.EndToEnd.Tests.Kubernetes;

/// <summary>
/// Where the real control plane's binaries are, by the envtest convention: <c>KUBEBUILDER_ASSETS</c> names a folder with
/// <c>kube-apiserver</c> and, optionally, <c>etcd</c> (else the <c>etcd</c> on PATH). Users get them with
/// controller-runtime's <c>setup-envtest use</c>; CI unpacks the one in ../shared/tools/kube.
/// </summary>
internal static class KubeAssets
{
    public const string Variable = "KUBEBUILDER_ASSETS";

    private static readonly Lazy<(string? ApiServer, string? Etcd, string? Missing)> Found = new(Find);

    public static string ApiServer => Found.Value.ApiServer ?? throw new InvalidOperationException(SkipReason);

    public static string Etcd => Found.Value.Etcd ?? throw new InvalidOperationException(SkipReason);

    /// <summary>Why the real API server cannot run here; null when it can.</summary>
    public static string? SkipReason => Found.Value.Missing;

    /// <summary>Why a test that needs the binaries and root (network namespaces) cannot run here; null when it can.</summary>
    public static string? RootSkipReason =>
        SkipReason ?? (LoadBalancer.Infrastructure.Tests.Networking.Support.RootRequirement.IsMet
            ? null
            : LoadBalancer.Infrastructure.Tests.Networking.Support.RootRequirement.SkipReason);

    private static (string?, string?, string?) Find()
    {
        var folder = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(folder))
        {
            return (null, null, $"needs a real kube-apiserver: set {Variable} to a folder holding kube-apiserver (setup-envtest use, or .ci/run unpacks ../shared/tools/kube) and install etcd");
        }

        var apiServer = Path.Combine(folder, "kube-apiserver");
        if (!File.Exists(apiServer))
        {
            return (null, null, $"{Variable} is '{folder}', which holds no kube-apiserver");
        }

        var etcd = Path.Combine(folder, "etcd");
        if (!File.Exists(etcd))
        {
            etcd = OnPath("etcd");
        }

        return etcd is null
            ? (null, null, $"no etcd in {Variable} ('{folder}') nor on PATH (Debian: apt-get install etcd-server)")
            : (apiServer, etcd, null);
    }

    private static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"])
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);
}

/// <summary>A fact that needs the real API server (<see cref="KubeAssets"/>); skipped with the reason without it.</summary>
public sealed class KubeFactAttribute : FactAttribute
{
    public KubeFactAttribute()
    {
        if (KubeAssets.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A theory that needs the real API server (<see cref="KubeAssets"/>); skipped with the reason without it.</summary>
public sealed class KubeTheoryAttribute : TheoryAttribute
{
    public KubeTheoryAttribute()
    {
        if (KubeAssets.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A fact that needs the real API server and root (network namespaces); skipped with the reason otherwise.</summary>
public sealed class KubeRootFactAttribute : FactAttribute
{
    public KubeRootFactAttribute()
    {
        if (KubeAssets.RootSkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A theory that needs the real API server and root (network namespaces); skipped with the reason otherwise.</summary>
public sealed class KubeRootTheoryAttribute : TheoryAttribute
{
    public KubeRootTheoryAttribute()
    {
        if (KubeAssets.RootSkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

namespace LoadBalancer.EndToEnd.Tests.Kubernetes;

/// <summary>
/// The benchmark's stand-in for the end-to-end tests' KubeAssets (which also defines xunit attributes): the same
/// envtest convention, <c>KUBEBUILDER_ASSETS</c> names a folder with <c>kube-apiserver</c> and, optionally, <c>etcd</c>
/// (else the one on PATH). bench/cluster.sh sets it, unpacking ../shared/tools/kube when it is not set.
/// </summary>
internal static class KubeAssets
{
    public const string Variable = "KUBEBUILDER_ASSETS";

    public static string ApiServer => Find("kube-apiserver", fromPath: false);

    public static string Etcd => Find("etcd", fromPath: true);

    /// <summary>Why the real API server cannot run here; null when it can.</summary>
    public static string? Missing()
    {
        try
        {
            _ = ApiServer;
            _ = Etcd;
            return null;
        }
        catch (InvalidOperationException missing)
        {
            return missing.Message;
        }
    }

    private static string Find(string program, bool fromPath)
    {
        var folder = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrEmpty(folder) && Path.Combine(folder, program) is var inFolder && File.Exists(inFolder))
        {
            return inFolder;
        }

        var onPath = fromPath
            ? (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]).Select(directory => Path.Combine(directory, program)).FirstOrDefault(File.Exists)
            : null;
        return onPath ?? throw new InvalidOperationException(fromPath
            ? $"no {program} in {Variable} ('{folder}') nor on PATH (Debian: apt-get install etcd-server)"
            : $"no {program}: set {Variable} to a folder holding it (bench/cluster.sh --api real unpacks ../shared/tools/kube/kube-apiserver.xz)");
    }
}

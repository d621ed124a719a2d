using System.Net.Http.Json;
using System.Text.Json;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using LoadBalancer.Host.Tests.Standalone;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// The real daemon binary in cluster mode against the real API server, with the token of deploy/'s ServiceAccount
/// (so every request it makes is authorised by the manifest's rules alone), confined to one <see cref="TestCluster"/>,
/// its admin endpoint on a port of its own. Disposing SIGKILLs it if it still runs.
/// </summary>
internal sealed class ClusterDaemon : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private ClusterDaemon(DaemonProcess process, string adminAddress, string identity)
    {
        Process = process;
        AdminAddress = adminAddress;
        Identity = identity;
    }

    public DaemonProcess Process { get; }

    /// <summary>IP:PORT of /healthz, /readyz and /api/v1/state (in the daemon's own network namespace).</summary>
    public string AdminAddress { get; }

    public string Identity { get; }

    /// <summary>Starts a daemon; <see cref="DeployManifestRbac.ApplyAsync"/> gives the token (default: applied here).</summary>
    /// <param name="folder">Where its kubeconfig is written.</param>
    /// <param name="pool">--restricted-cidr.</param>
    /// <param name="identity">--lease-identity; replicas of one test share the Lease and differ by this.</param>
    /// <param name="flags">More flags: --link-device, --no-announce, --no-leader-election, --backends …</param>
    /// <param name="token">The bearer token; by default the manifest's ServiceAccount's.</param>
    /// <param name="launcher">What runs it, e.g. <c>ip netns exec lb1</c>; empty: directly.</param>
    /// <param name="apiServerUrl">How the daemon reaches the API server when not on this host's 127.0.0.1.</param>
    public static async Task<ClusterDaemon> StartAsync(
        TestCluster cluster, string folder, string pool, string identity = "replica-1", IReadOnlyList<string>? flags = null, string? token = null,
        IReadOnlyList<string>? launcher = null, string? apiServerUrl = null, string adminIp = "127.0.0.1")
    {
        token ??= await DeployManifestRbac.ApplyAsync(cluster.Server);
        var kubeconfig = cluster.Server.WriteKubeconfig(folder, token, apiServerUrl, $"kubeconfig-{identity}");
        var adminAddress = $"{adminIp}:{(launcher is { Count: > 0 } ? 9090 : Net.FreePort(adminIp))}";
        var environment = new Dictionary<string, string?>(DaemonProcess.WithoutConfigurationVariables)
        {
            ["KUBECONFIG"] = null, ["POD_NAME"] = null, ["POD_NAMESPACE"] = null, ["KUBERNETES_SERVICE_HOST"] = null,
        };
        string[] args =
        [
            "--kubeconfig", kubeconfig, "--restricted-cidr", pool, "--lease-identity", identity, "--admin-address", adminAddress, "--debug",
            .. cluster.DaemonFlags, .. flags ?? [],
        ];
        return new ClusterDaemon(DaemonProcess.StartUnder(launcher ?? [], environment, args), adminAddress, identity);
    }

    /// <summary>/api/v1/state as JSON (from this host's namespace: only for a daemon in it).</summary>
    public async Task<JsonDocument> StateAsync() =>
        JsonDocument.Parse(await Http.GetStringAsync($"http://{AdminAddress}/api/v1/state"));

    /// <summary>Whether /readyz answers 200 (from this host's namespace: only for a daemon in it).</summary>
    public async Task<bool> ReadyAsync()
    {
        try
        {
            using var answer = await Http.GetAsync($"http://{AdminAddress}/readyz");
            return answer.IsSuccessStatusCode;
        }
        catch (Exception failure) when (failure is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Fails when the daemon met a 403: the manifest's rules did not cover something it asked.
    /// </summary>
    public void AssertNeverForbidden() => AssertNeverForbidden(Process.Error.ToString() + Process.Output);

    /// <summary>How long the log (standard error) is now: a mark for <see cref="AssertNeverForbiddenBut"/>.</summary>
    public int LogLength => Process.Error.ToString().Length;

    /// <summary>
    /// As <see cref="AssertNeverForbidden()"/>, but for the log written between two <see cref="LogLength"/> marks: while
    /// the API server itself starts again, its RBAC authorizer answers 403 until its caches are filled, which says
    /// nothing about the manifest.
    /// </summary>
    public void AssertNeverForbiddenBut(int excusedFrom, int excusedTo)
    {
        var log = Process.Error.ToString();
        AssertNeverForbidden(log[..excusedFrom] + log[Math.Min(excusedTo, log.Length)..] + Process.Output);
    }

    private void AssertNeverForbidden(string log)
    {
        var refused = ForbiddenLines(log);
        Assert.True(
            refused.Count == 0,
            $"the daemon was refused something the manifest ({DeployManifestRbac.ManifestPath}) should grant:\n{string.Join('\n', refused)}\n{Process}");
    }

    /// <summary>
    /// The lines of <paramref name="log"/> that tell of a 403 (the daemon writes "HTTP 403 Forbidden"; a bare " 403" is
    /// also "resourceVersion 403").
    /// </summary>
    public static IReadOnlyList<string> ForbiddenLines(string log) =>
        [.. log.ReplaceLineEndings("\n").Split('\n')
            .Where(line => line.Contains("Forbidden", StringComparison.OrdinalIgnoreCase) || line.Contains("HTTP 403", StringComparison.Ordinal))];

    public override string ToString() => $"daemon {Identity}: {Process}";

    public void Dispose() => Process.Dispose();
}

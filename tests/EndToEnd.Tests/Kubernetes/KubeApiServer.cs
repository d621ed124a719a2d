using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using LoadBalancer.Host.Tests;

namespace LoadBalancer.EndToEnd.Tests.Kubernetes;

/// <summary>
/// A real control plane for the test run, as envtest starts one: etcd and kube-apiserver on free loopback ports, in a
/// temporary folder with a generated service-account key and a token file (one admin token in system:masters), RBAC on.
/// The API server generates its own self-signed serving certificate, which clients here trust and nothing else does.
/// </summary>
/// <remarks>
/// There is no controller manager, scheduler or kubelet: Nodes, their status and EndpointSlices are written by the tests;
/// NodePorts are allocated by the API server itself. A deleted namespace stays Terminating, so each test takes a new one.
/// </remarks>
internal sealed class KubeApiServer : IAsyncDisposable
{
    private const string Loopback = "127.0.0.1";

    private static readonly TimeSpan ReadyLimit = TimeSpan.FromSeconds(60);
    private static readonly ConcurrentDictionary<ControlPlaneProcess, byte> Live = new();
    private static int _namespaces;

    private readonly DirectoryInfo _folder;
    private readonly int _etcdPort;
    private readonly int _etcdPeerPort;
    private readonly IReadOnlyList<string> _apiServerFlags;
    private ControlPlaneProcess? _etcd;
    private ControlPlaneProcess? _apiServer;

    static KubeApiServer() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        // A test run that ends without disposing (a crash, a cancelled run) still ends only what it started.
        foreach (var process in Live.Keys)
        {
            process.Dispose();
        }
    };

    private KubeApiServer(DirectoryInfo folder, IReadOnlyList<string> apiServerFlags)
    {
        _folder = folder;
        _apiServerFlags = apiServerFlags;
        (_etcdPort, _etcdPeerPort, Port) = (Net.FreePort(Loopback), Net.FreePort(Loopback), Net.FreePort(Loopback));
        AdminToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    }

    /// <summary>The API server's secure port on 127.0.0.1.</summary>
    public int Port { get; }

    public string Url => $"https://127.0.0.1:{Port}";

    public string EtcdUrl => $"http://127.0.0.1:{_etcdPort}";

    /// <summary>A bearer token of user "admin" in system:masters (cluster-admin).</summary>
    public string AdminToken { get; }

    /// <summary>The API server's serving certificate (PEM, with its self-signed CA), as a kubeconfig's certificate authority.</summary>
    public string CertificateAuthorityPem => File.ReadAllText(Path.Combine(_folder.FullName, "certs", "apiserver.crt"));

    /// <summary>Whether the API server process runs (a test may stop and start it).</summary>
    public bool IsRunning => _apiServer is { HasExited: false };

    public static Task<KubeApiServer> StartAsync() => StartAsync([]);

    /// <summary>As <see cref="StartAsync()"/>, with more kube-apiserver flags (the benchmarks widen the NodePort range).</summary>
    public static async Task<KubeApiServer> StartAsync(IReadOnlyList<string> apiServerFlags)
    {
        var server = new KubeApiServer(Directory.CreateTempSubdirectory("llb-kube-"), apiServerFlags);
        try
        {
            server.WriteCredentials();
            await server.StartEtcdAsync();
            await server.StartApiServerAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client of the admin user, trusting only this server's certificate.</summary>
    public IKubernetes AdminClient() => Client(AdminToken);

    /// <summary>A client that authenticates with <paramref name="token"/> (e.g. a ServiceAccount's).</summary>
    public IKubernetes Client(string token) => new k8s.Kubernetes(new KubernetesClientConfiguration
    {
        Host = Url,
        AccessToken = token,
        SslCaCerts = Authority(),
    });

    /// <summary>Writes a kubeconfig for <paramref name="token"/> (default: the admin's) and returns its path.</summary>
    /// <param name="server">The URL the client dials, when it reaches this server another way (a relay in a namespace).</param>
    public string WriteKubeconfig(string folder, string? token = null, string? server = null, string name = "kubeconfig")
    {
        var authority = Convert.ToBase64String(Encoding.ASCII.GetBytes(CertificateAuthorityPem));
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
              - name: e2e
                cluster:
                  server: {server ?? Url}
                  certificate-authority-data: {authority}
            users:
              - name: e2e
                user:
                  token: {token ?? AdminToken}
            contexts:
              - name: e2e
                context:
                  cluster: e2e
                  user: e2e
            current-context: e2e

            """);
        return path;
    }

    /// <summary>A new namespace for one test (a deleted one stays Terminating without a controller manager).</summary>
    public async Task<string> CreateNamespaceAsync(string prefix = "e2e")
    {
        var name = $"{prefix}-{Interlocked.Increment(ref _namespaces)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        using var client = AdminClient();
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    /// <summary>A token of ServiceAccount <paramref name="ns"/>/<paramref name="serviceAccount"/> from the TokenRequest API.</summary>
    public async Task<string> ServiceAccountTokenAsync(string ns, string serviceAccount)
    {
        using var client = AdminClient();
        var request = new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { Audiences = [], ExpirationSeconds = 3600 } };
        var answer = await client.CoreV1.CreateNamespacedServiceAccountTokenAsync(request, serviceAccount, ns);
        return answer.Status.Token;
    }

    /// <summary>Stops the API server (SIGTERM), leaving etcd and everything stored; <see cref="StartApiServerAsync"/> resumes it on the same port.</summary>
    public async Task StopApiServerAsync()
    {
        if (_apiServer is { } running)
        {
            await running.StopAsync(TimeSpan.FromSeconds(15));
            Live.TryRemove(running, out _);
            running.Dispose();
            _apiServer = null;
        }
    }

    /// <summary>Starts the API server (again) and waits until /readyz answers ok.</summary>
    public async Task StartApiServerAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var folder = _folder.FullName;
        _apiServer = Track(ControlPlaneProcess.Start("kube-apiserver", KubeAssets.ApiServer,
        [
            "--etcd-servers", EtcdUrl,
            "--bind-address", "127.0.0.1",
            "--advertise-address", "127.0.0.1",
            "--secure-port", Port.ToString(CultureInfo.InvariantCulture),
            "--cert-dir", Path.Combine(folder, "certs"),
            "--token-auth-file", Path.Combine(folder, "tokens.csv"),
            "--service-account-key-file", Path.Combine(folder, "sa.pub"),
            "--service-account-signing-key-file", Path.Combine(folder, "sa.key"),
            "--service-account-issuer", "https://kubernetes.default.svc",
            "--authorization-mode", "RBAC",
            "--service-cluster-ip-range", "10.96.0.0/16",
            // Endpoints may not hold 127.0.0.1, so the server cannot publish itself as default/kubernetes.
            "--endpoint-reconciler-type", "none",
            .. _apiServerFlags,
        ]));
        await WaitReadyAsync(_apiServer);
    }

    /// <summary>
    /// Compacts etcd up to its current revision, so that a watch resuming from an older resourceVersion (one not in the
    /// API server's watch cache, e.g. after the API server restarted) is answered 410 Gone.
    /// </summary>
    public async Task<long> CompactAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // etcd's gRPC gateway: range over an empty key answers the header with the current revision.
        using var range = await http.PostAsJsonAsync($"{EtcdUrl}/v3/kv/range", new { key = Convert.ToBase64String([0]) });
        range.EnsureSuccessStatusCode();
        using var header = JsonDocument.Parse(await range.Content.ReadAsStringAsync());
        var revision = long.Parse(header.RootElement.GetProperty("header").GetProperty("revision").GetString()!, CultureInfo.InvariantCulture);
        using var compaction = await http.PostAsJsonAsync($"{EtcdUrl}/v3/kv/compaction", new { revision = revision.ToString(CultureInfo.InvariantCulture), physical = true });
        compaction.EnsureSuccessStatusCode();
        return revision;
    }

    /// <summary>The last lines of both processes, for a failure's message.</summary>
    public string Tail() => $"{_apiServer?.Tail() ?? "kube-apiserver: not running"}\n{_etcd?.Tail() ?? "etcd: not running"}";

    public async ValueTask DisposeAsync()
    {
        foreach (var process in new[] { _apiServer, _etcd })
        {
            if (process is not null)
            {
                await process.StopAsync(TimeSpan.FromSeconds(10));
                Live.TryRemove(process, out _);
                process.Dispose();
            }
        }

        (_apiServer, _etcd) = (null, null);
        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
            // etcd may still be closing a file; a temporary folder is left at worst.
        }
    }

    private static ControlPlaneProcess Track(ControlPlaneProcess process)
    {
        Live.TryAdd(process, 0);
        return process;
    }

    private X509Certificate2Collection Authority()
    {
        var authority = new X509Certificate2Collection();
        authority.ImportFromPem(CertificateAuthorityPem);
        return authority;
    }

    private void WriteCredentials()
    {
        var folder = _folder.FullName;
        Directory.CreateDirectory(Path.Combine(folder, "certs"));
        using var key = RSA.Create(2048);
        File.WriteAllText(Path.Combine(folder, "sa.key"), key.ExportRSAPrivateKeyPem());
        File.WriteAllText(Path.Combine(folder, "sa.pub"), key.ExportSubjectPublicKeyInfoPem());
        File.WriteAllText(Path.Combine(folder, "tokens.csv"), $"{AdminToken},admin,1,\"system:masters\"\n");
    }

    private async Task StartEtcdAsync()
    {
        var folder = _folder.FullName;
        _etcd = Track(ControlPlaneProcess.Start("etcd", KubeAssets.Etcd,
        [
            "--data-dir", Path.Combine(folder, "etcd"),
            "--listen-client-urls", EtcdUrl,
            "--advertise-client-urls", EtcdUrl,
            "--listen-peer-urls", $"http://127.0.0.1:{_etcdPeerPort}",
            "--initial-advertise-peer-urls", $"http://127.0.0.1:{_etcdPeerPort}",
            "--initial-cluster", $"default=http://127.0.0.1:{_etcdPeerPort}",
            // Tests write little; a small backend keeps the folder small and the start quick.
            "--quota-backend-bytes", (256L * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
        ]));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await UntilAsync(_etcd, async () =>
        {
            using var health = await http.GetAsync($"{EtcdUrl}/health");
            return health.IsSuccessStatusCode;
        });
    }

    private async Task WaitReadyAsync(ControlPlaneProcess apiServer)
    {
        using var handler = new HttpClientHandler
        {
            // Only the readiness poll: the certificate is generated at the server's first start and read after it.
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
        await UntilAsync(apiServer, async () =>
        {
            using var ready = await http.GetAsync($"{Url}/readyz");
            return ready.IsSuccessStatusCode;
        });
    }

    private async Task UntilAsync(ControlPlaneProcess process, Func<Task<bool>> ready)
    {
        var deadline = DateTime.UtcNow + ReadyLimit;
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                if (await ready())
                {
                    return;
                }
            }
            catch (Exception failure) when (failure is HttpRequestException or TaskCanceledException or IOException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{process.Name} was not ready within {ReadyLimit.TotalSeconds:F0} s; {Tail()}");
    }
}

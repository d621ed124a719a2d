using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using k8s;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Tests.FakeKubernetesApi;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Leadership;

/// <summary>The real client under the elector: what each HTTP answer becomes, against the fake API server and canned responses.</summary>
/// <remarks>Only the tests that need the fake API server start one: the canned answers need no network.</remarks>
public sealed class KubernetesLeaseClientTests
{
    private const string Namespace = "kube-system";
    private const string LeaseName = "llb";

    [Fact]
    public async Task AgainstTheApiServer_ReadCreateReplace_AnswerTheLease_NotFound_OrConflict()
    {
        await using var api = await FakeApiServer.StartAsync();
        using var kubernetes = api.CreateClient();
        var leases = new KubernetesLeaseClient(kubernetes, Namespace, LeaseName);

        Assert.Equal(LeaseAnswerKind.NotFound, (await leases.ReadAsync(CancellationToken.None)).Kind);
        var created = await leases.CreateAsync(Lease("one"), CancellationToken.None);
        Assert.Equal(LeaseAnswerKind.Lease, created.Kind);
        Assert.Equal(LeaseAnswerKind.Conflict, (await leases.CreateAsync(Lease("two"), CancellationToken.None)).Kind);

        var read = await leases.ReadAsync(CancellationToken.None);
        read.Lease!.Spec.HolderIdentity = "two";
        Assert.Equal(LeaseAnswerKind.Lease, (await leases.ReplaceAsync(read.Lease, CancellationToken.None)).Kind);

        // The resourceVersion read before the write above is stale now.
        created.Lease!.Spec.HolderIdentity = "three";
        Assert.Equal(LeaseAnswerKind.Conflict, (await leases.ReplaceAsync(created.Lease, CancellationToken.None)).Kind);
        Assert.Equal("two", api.GetLease(Namespace, LeaseName)?.Spec.HolderIdentity);

        api.Unavailable = true;
        var unavailable = await leases.ReadAsync(CancellationToken.None);
        Assert.Equal((LeaseAnswerKind.Status, 503), (unavailable.Kind, unavailable.StatusCode));
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.GatewayTimeout)]
    public async Task AnErrorStatus_IsAnAnswerWithThatStatus(HttpStatusCode status)
    {
        using var kubernetes = Canned(() => new HttpResponseMessage(status) { Content = new StringContent("{}", Encoding.UTF8, "application/json") });
        var leases = new KubernetesLeaseClient(kubernetes, Namespace, LeaseName);

        var read = await leases.ReadAsync(CancellationToken.None);
        var replaced = await leases.ReplaceAsync(Lease("one"), CancellationToken.None);

        Assert.Equal((LeaseAnswerKind.Status, (int)status), (read.Kind, read.StatusCode));
        Assert.Equal((LeaseAnswerKind.Status, (int)status), (replaced.Kind, replaced.StatusCode));
        Assert.False(read.IsUsable);
    }

    [Fact]
    public async Task A404OnCreate_MeansTheNamespaceIsMissing_NotThatTheLeaseIs()
    {
        using var kubernetes = Canned(() => new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("{}") });
        var leases = new KubernetesLeaseClient(kubernetes, Namespace, LeaseName);

        Assert.Equal(LeaseAnswerKind.NotFound, (await leases.ReadAsync(CancellationToken.None)).Kind);
        var created = await leases.CreateAsync(Lease("one"), CancellationToken.None);
        Assert.Equal((LeaseAnswerKind.Status, 404), (created.Kind, created.StatusCode));
    }

    [Fact]
    public async Task ARefusedConnection_IsUnreachable_AndABodyThatIsNoLease_IsMalformed()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        using var refusing = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = $"http://127.0.0.1:{port}/" });
        using var proxy = Canned(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>sign in</html>", Encoding.UTF8, "text/html") });

        var unreachable = await new KubernetesLeaseClient(refusing, Namespace, LeaseName).ReadAsync(CancellationToken.None);
        var malformed = await new KubernetesLeaseClient(proxy, Namespace, LeaseName).ReadAsync(CancellationToken.None);

        Assert.Equal(LeaseAnswerKind.Unreachable, unreachable.Kind);
        Assert.Equal(LeaseAnswerKind.Malformed, malformed.Kind);
    }

    [Fact]
    public async Task ASocketErrorThatHttpClientDoesNotWrap_IsUnreachable_NotAFailureOfTheDaemon()
    {
        // HttpConnectionPool reads Socket.RemoteEndPoint after connecting; a reset in between throws ENOTCONN as is.
        using var reset = Canned(() => throw new SocketException((int)SocketError.NotConnected));

        var answer = await new KubernetesLeaseClient(reset, Namespace, LeaseName).ReplaceAsync(new V1Lease { Metadata = new V1ObjectMeta { Name = LeaseName } }, CancellationToken.None);

        Assert.Equal(LeaseAnswerKind.Unreachable, answer.Kind);
    }

    [Fact]
    public async Task Elector_OverTheRealClient_LeadsAtOnce_KeepsLeadingThrough503s_AndReleasesOnStop()
    {
        await using var api = await FakeApiServer.StartAsync();
        using var kubernetes = api.CreateClient();
        var logger = new CapturingLogger<LeaseElector>();
        var options = new LeaderElectionOptions
        {
            Namespace = Namespace,
            Name = LeaseName,
            Identity = "one",
            // Nothing here waits out a duration; a long deadline only keeps a stalled machine from failing the release.
            RetryPeriod = TimeSpan.FromMilliseconds(20),
            RenewDeadline = TimeSpan.FromSeconds(4),
            LeaseDuration = TimeSpan.FromSeconds(5),
        };
        var elector = new LeaseElector(kubernetes, options, TimeProvider.System, logger);
        var leading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => elector.RunAsync(
            async leadership =>
            {
                leading.TrySetResult();
                await Task.Delay(Timeout.Infinite, leadership);
            },
            stop.Token));
        await leading.Task.WaitAsync(TimeSpan.FromSeconds(5));

        api.Unavailable = true;
        await UntilAsync(() => logger.Entries.Any(entry => entry.EventId.Id is 5312 or 5315 && entry.Message.Contains("HTTP 503", StringComparison.Ordinal)));
        api.Unavailable = false;
        await UntilAsync(() => logger.Entries.Any(entry => entry.EventId.Id == 5313));
        Assert.True(elector.IsLeader);
        Assert.DoesNotContain(logger.Entries, entry => entry.EventId.Id == 5303);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(string.Empty, api.GetLease(Namespace, LeaseName)?.Spec.HolderIdentity);
        Assert.Contains(logger.Entries, entry => entry.EventId.Id == 5306 && entry.Level == LogLevel.Information);
    }

    private static V1Lease Lease(string holder) => new()
    {
        ApiVersion = "coordination.k8s.io/v1",
        Kind = "Lease",
        Metadata = new V1ObjectMeta { Name = LeaseName, NamespaceProperty = Namespace },
        Spec = new V1LeaseSpec { HolderIdentity = holder, LeaseDurationSeconds = 2 },
    };

    private static k8s.Kubernetes Canned(Func<HttpResponseMessage> respond) =>
        new(new KubernetesClientConfiguration { Host = "http://127.0.0.1:9/" }, new CannedHandler(respond));

    /// <summary>Polls a condition that the code under test makes true in real time; fails after 5 s.</summary>
    private static async Task UntilAsync(Func<bool> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(5), "condition not met within 5 s");
            await Task.Delay(5);
        }
    }

    /// <summary>Answers every request itself, as a proxy or a failing API server would; nothing reaches the network.</summary>
    private sealed class CannedHandler(Func<HttpResponseMessage> respond) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = respond();
            response.RequestMessage = request;
            return Task.FromResult(response);
        }
    }
}

using k8s;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Pacing;
using LoadBalancer.Infrastructure.Tests.Kubernetes.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Pacing;

public sealed class ApiPacingHandlerTests : FakeApiServerTest
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("POST", "/apis/events.k8s.io/v1/namespaces/shop/events", "Background")]
    [InlineData("PATCH", "/apis/events.k8s.io/v1/namespaces/shop/events/web.1a2b", "Background")]
    [InlineData("POST", "/api/v1/namespaces/shop/events", "Background")]
    [InlineData("GET", "/apis/events.k8s.io/v1/events", "Normal")]
    [InlineData("PATCH", "/api/v1/namespaces/shop/services/web/status", "Normal")]
    [InlineData("PATCH", "/api/v1/namespaces/events/services/events/status", "Normal")]
    [InlineData("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/little-load-balancer", "Normal")]
    [InlineData("GET", "/api/v1/services?watch=true", "Normal")]
    public void PriorityOf_EventWritesGoLast(string method, string path, string expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(new Uri("https://10.0.0.1:6443"), path));

        Assert.Equal(expected, ApiPacingHandler.PriorityOf(request).ToString());
    }

    [Fact]
    public async Task Send_BeyondTheBurst_WaitsForTheNextToken()
    {
        var (client, bucket) = PacedClient(qps: 1, burst: 2);
        using var disposing = client;

        await client.CoreV1.ListNamespacedServiceAsync("shop");
        await client.CoreV1.ListNamespacedServiceAsync("shop");
        var third = client.CoreV1.ListNamespacedServiceAsync("shop");
        await WaitUntilAsync(() => bucket.Waiting == 1);

        Assert.False(third.IsCompleted);
        Assert.Equal(2, Server.Requests.Count(request => request.Method == "GET"));
        _time.Advance(TimeSpan.FromSeconds(1));
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, Server.Requests.Count(request => request.Method == "GET"));
    }

    [Fact]
    public async Task Send_AnOpenWatch_HoldsNoToken()
    {
        var (client, bucket) = PacedClient(qps: 1, burst: 1);
        using var disposing = client;
        using var stop = new CancellationTokenSource();

        // The watch takes the only token to start, then stays open.
        var watching = Task.Run(async () =>
        {
            await foreach (var _ in client.CoreV1.WatchListServiceForAllNamespacesAsync(cancellationToken: stop.Token))
            {
            }
        });
        await WaitUntilAsync(() => Server.OpenWatches == 1);

        // The next request waits for the token of the next second, not for the watch to end.
        var listing = client.CoreV1.ListNamespacedServiceAsync("shop");
        await WaitUntilAsync(() => bucket.Waiting == 1);
        _time.Advance(TimeSpan.FromSeconds(1));
        await listing.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, Server.OpenWatches);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private (k8s.Kubernetes Client, ApiTokenBucket Bucket) PacedClient(double qps, int burst)
    {
        var bucket = new ApiTokenBucket(new KubernetesApiPacingOptions { Qps = qps, Burst = burst }, _time);
        return (new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Server.BaseAddress.ToString() }, new ApiPacingHandler(bucket)), bucket);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }
}

using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>Builds forwarders and listener specs the way every forwarder test needs them, and reads their statistics.</summary>
internal static class TestForwarders
{
    public static readonly ServiceKey Service = new("default", "web");

    private static readonly TimeSpan ApplyLimit = TimeSpan.FromSeconds(5);

    /// <param name="time">The forwarder's clock: a FakeTimeProvider lets a test move its timeouts and deadlines.</param>
    /// <param name="loggerFactory">Where its log goes; the test's output by default.</param>
    public static TcpForwarder Create(
        ForwardingEngine engine,
        ITestOutputHelper output,
        Func<ForwarderOptions, ForwarderOptions>? configure = null,
        TimeProvider? time = null,
        ILoggerFactory? loggerFactory = null)
    {
        var options = new ForwarderOptions { Engine = engine };
        options = configure?.Invoke(options) ?? options;
        var forwarder = new TcpForwarder(options, time ?? TimeProvider.System, loggerFactory ?? new TestOutputLoggerFactory(output));

        // The forwarder falls back to copying where splice is unavailable; a splice test must not pass on the copy engine.
        if (forwarder.Engine != engine)
        {
            forwarder.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Assert.Fail($"asked for the {engine} engine, the forwarder runs {forwarder.Engine} (see its log)");
        }

        return forwarder;
    }

    /// <summary>A spec with active health checks off, so only the forwarder's own connects decide what happens.</summary>
    public static ListenerSpec Spec(
        PortBinding binding,
        IEnumerable<Endpoint> backends,
        string policy = LoadBalancingPolicyNames.RoundRobin,
        int? maxConnections = null) =>
        new(binding, Service, [.. backends], policy)
        {
            HealthCheck = HealthCheckSettings.Default with { Enabled = false },
            MaxConnections = maxConnections,
        };

    /// <summary>Starts a listener on a fresh 127.0.55.x binding in front of <paramref name="backends"/>.</summary>
    public static async Task<PortBinding> ListenAsync(this TcpForwarder forwarder, params Endpoint[] backends)
    {
        var binding = LoopbackAddresses.NextListenerBinding();
        await forwarder.ApplySucceedsAsync(Spec(binding, backends));
        return binding;
    }

    public static async Task ApplySucceedsAsync(this TcpForwarder forwarder, ListenerSpec spec)
    {
        var result = await forwarder.ApplyWithinLimitAsync(spec);
        Assert.True(result.Succeeded, $"ApplyAsync({spec.Binding}) failed: {result.Error}");
    }

    public static Task<ForwarderResult> ApplyWithinLimitAsync(this TcpForwarder forwarder, ListenerSpec spec) =>
        Bounded.WithinAsync(forwarder.ApplyAsync(spec, CancellationToken.None), ApplyLimit, $"ApplyAsync({spec.Binding})");

    public static ListenerStatistics Statistics(this TcpForwarder forwarder, PortBinding binding) =>
        forwarder.GetStatistics(binding) ?? throw new Xunit.Sdk.XunitException($"no statistics for listener {binding}");

    public static TrafficSnapshot Of(this ListenerStatistics statistics, Endpoint backend) =>
        statistics.Backends.FirstOrDefault(candidate => candidate.Endpoint == backend)?.Traffic
        ?? throw new Xunit.Sdk.XunitException(
            $"no statistics for backend {backend}; backends listed: {string.Join(", ", statistics.Backends.Select(b => b.Endpoint))}");

    /// <summary>Statistics may trail the bytes by a moment: waits (bounded) until they satisfy <paramref name="condition"/>.</summary>
    public static Task WaitForStatisticsAsync(
        this TcpForwarder forwarder,
        PortBinding binding,
        Func<ListenerStatistics, bool> condition,
        string what,
        TimeSpan? limit = null) =>
        Bounded.UntilAsync(
            () => forwarder.GetStatistics(binding) is { } statistics && condition(statistics),
            limit ?? TimeSpan.FromSeconds(5),
            what,
            () => Describe(forwarder.GetStatistics(binding)));

    public static string Describe(ListenerStatistics? statistics) =>
        statistics is null
            ? "no statistics"
            : $"listener {statistics.Listener}; " + string.Join("; ", statistics.Backends.Select(b => $"{b.Endpoint} available={b.Available} {b.Traffic}"));
}

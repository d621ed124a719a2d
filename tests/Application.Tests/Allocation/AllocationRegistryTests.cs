using LoadBalancer.Domain.Allocation;
using System.Collections.Concurrent;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Options;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Allocation;

public sealed class AllocationRegistryTests
{
    private const int Tasks = 8;
    private const int OperationsPerTask = 2_000;
    private const int ServicesPerTask = 6;
    private const int Seed = 20_240_501;

    private static readonly ServicePort[][] PortSets =
    [
        [ServicePort.Tcp(80)],
        [ServicePort.Tcp(443)],
        [ServicePort.Tcp(80), ServicePort.Tcp(443)],
        [ServicePort.Udp(53)],
        [ServicePort.Tcp(53), ServicePort.Udp(53)],
        [ServicePort.Tcp(8080)],
    ];

    [Fact]
    public async Task ConcurrentAllocateAndRelease_NeverGiveOneIpPortToTwoServices()
    {
        // 10.0.0.1-10.0.0.6: six IPs for 48 services, so most requests compete for the same IP:port pairs.
        var registry = new AllocationRegistry(Pool("10.0.0.0/29"));
        var claims = new ConcurrentDictionary<PortBinding, ServiceKey>();
        var violations = new ConcurrentQueue<string>();
        using var start = new Barrier(Tasks);

        var workers = Enumerable.Range(0, Tasks)
            .Select(task => Task.Factory.StartNew(
                () => Churn(registry, task, claims, violations, start),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
        var held = await Task.WhenAll(workers);

        Assert.Empty(violations);
        var leased = registry.Leases().SelectMany(lease => lease.Ports).ToList();
        Assert.Equal(leased.Count, leased.Select(port => port.Binding).Distinct().Count());
        var expected = held.SelectMany(services => services)
            .SelectMany(service => service.Value.Select(binding => (binding.ToString(), service.Key)))
            .Order();
        Assert.Equal(expected, leased.Select(port => (port.Binding.ToString(), port.Owner)).Order());
        Assert.Equal(expected, claims.Select(claim => (claim.Key.ToString(), claim.Value)).Order());
    }

    [Fact]
    public void Constructor_OptionsWithBadPool_ThrowsListingEveryError()
    {
        var options = Options.Create(new AllocationOptions { Pool = "192.168.0.0/33, 10.0.0.300, 10.0.0.1/24", Excluded = "nope" });

        var thrown = Assert.Throws<OptionsValidationException>(() => new AllocationRegistry(options));

        Assert.Equal(nameof(AllocationOptions), thrown.OptionsName);
        Assert.Equal(typeof(AllocationOptions), thrown.OptionsType);
        Assert.Equal(
            [
                "restrictedCidr: '192.168.0.0/33' is not a CIDR, range or address: prefix length '33' must be a number from 0 to 32",
                "restrictedCidr: '10.0.0.300' is not a CIDR, range or address: invalid IP address: 10.0.0.300",
                "restrictedCidr: '10.0.0.1/24' is not a CIDR, range or address: host bits are set; the network is 10.0.0.0/24",
                "exclude: 'nope' is not a CIDR, range or address: invalid IP address: nope",
            ],
            thrown.Failures);
    }

    [Fact]
    public void Constructor_OptionsWithNothingLeftAfterExclusions_Throws()
    {
        var options = Options.Create(new AllocationOptions { Pool = "10.0.0.0/30", Excluded = "10.0.0.1-10.0.0.2" });

        var thrown = Assert.Throws<OptionsValidationException>(() => new AllocationRegistry(options));

        Assert.Equal(
            ["restrictedCidr: pool '10.0.0.0/30' has no usable address once network, broadcast and excluded addresses are removed"],
            thrown.Failures);
    }

    [Fact]
    public void Constructor_DefaultOptions_UsesTheOriginalsPool()
    {
        var registry = new AllocationRegistry(Options.Create(new AllocationOptions()));

        Assert.Equal("192.168.0.224/28", Assert.Single(registry.Pools).Addresses.ToString());
    }

    [Fact]
    public void Constructor_OptionsWithExclusion_NeverHandsOutTheExcludedAddress()
    {
        var registry = new AllocationRegistry(Options.Create(new AllocationOptions { Pool = "10.0.0.0/29", Excluded = "10.0.0.1" }));

        var result = registry.Allocate(Spec("web", 80).ToRequest());

        Assert.Equal(Ip("10.0.0.2"), result.Allocation!.Ip);
    }

    [Fact]
    public void FindAssignment_AfterAllocate_ReturnsTheServicesBindings()
    {
        var registry = Registry();
        registry.Allocate(Spec("web", 80, 443).ToRequest());

        var assignment = registry.FindAssignment(new ServiceKey("default", "web"));

        Assert.Equal(["192.168.0.225:80", "192.168.0.225:443"], Texts(assignment!.Bindings));
        Assert.Null(registry.FindAssignment(new ServiceKey("default", "other")));
    }

    /// <summary>
    /// Random allocations and releases of this task's own services. A claim is recorded only after the registry grants a
    /// binding and dropped before the registry may free it, so a claim that already exists when another service is
    /// granted the same binding proves the registry gave it out twice.
    /// </summary>
    private static Dictionary<ServiceKey, PortBinding[]> Churn(
        AllocationRegistry registry,
        int task,
        ConcurrentDictionary<PortBinding, ServiceKey> claims,
        ConcurrentQueue<string> violations,
        Barrier start)
    {
#pragma warning disable CA5394 // Random is for test data, not security.
        var random = new Random(Seed + task);
        var held = new Dictionary<ServiceKey, PortBinding[]>();
        start.SignalAndWait();
        for (var operation = 0; operation < OperationsPerTask; operation++)
        {
            var service = new ServiceKey("default", $"t{task}-s{random.Next(ServicesPerTask)}");
            if (random.Next(10) < 3)
            {
                var mine = held.GetValueOrDefault(service, []);
                Unclaim(claims, mine, service, violations);
                held.Remove(service);
                var release = registry.Release(service).SingleOrDefault() ?? new IpRelease(service, null, [], false);
                if (!Texts(release.Freed).Order(StringComparer.Ordinal).SequenceEqual(Texts(mine).Order(StringComparer.Ordinal)))
                {
                    violations.Enqueue($"{service} released [{string.Join(", ", release.Freed)}] but held [{string.Join(", ", mine)}]");
                }

                continue;
            }

            var ports = PortSets[random.Next(PortSets.Length)];
            var requested = random.Next(5) == 0 ? Ip($"10.0.0.{random.Next(1, 8)}") : null;
            var sharing = random.Next(10) switch
            {
                0 => IpSharing.Exclusive,
                1 => IpSharing.WithKey("team"),
                _ => IpSharing.Shared,
            };
#pragma warning restore CA5394
            var previous = held.GetValueOrDefault(service, []);
            Unclaim(claims, previous, service, violations);
            var result = registry.Allocate(new LoadBalancerRequest(service, ports, requested, sharing));
            if (result.Allocation is not { } allocation)
            {
                if (result.Refusal!.Service != service)
                {
                    violations.Enqueue($"refusal for {service} names {result.Refusal.Service}");
                }

                Claim(claims, previous, service, violations);
                continue;
            }

            if (allocation.Service != service
                || (requested is not null && !allocation.Ip.Equals(requested))
                || !allocation.Bindings.All(binding => binding.Ip.Equals(allocation.Ip))
                || !allocation.Bindings.Select(binding => binding.Port).Order().SequenceEqual(ports.Order()))
            {
                violations.Enqueue($"{service} asked for [{string.Join(", ", ports)}] and got {allocation}");
            }

            Claim(claims, allocation.Bindings, service, violations);
            held[service] = [.. allocation.Bindings];
        }

        return held;
    }

    private static void Claim(
        ConcurrentDictionary<PortBinding, ServiceKey> claims, IEnumerable<PortBinding> bindings, ServiceKey service,
        ConcurrentQueue<string> violations)
    {
        foreach (var binding in bindings)
        {
            if (!claims.TryAdd(binding, service))
            {
                violations.Enqueue($"{binding} given to {service} while {claims.GetValueOrDefault(binding)} holds it");
            }
        }
    }

    private static void Unclaim(
        ConcurrentDictionary<PortBinding, ServiceKey> claims, IEnumerable<PortBinding> bindings, ServiceKey service,
        ConcurrentQueue<string> violations)
    {
        foreach (var binding in bindings)
        {
            if (!claims.TryRemove(new KeyValuePair<PortBinding, ServiceKey>(binding, service)))
            {
                violations.Enqueue($"{service} held {binding} but its claim was gone");
            }
        }
    }
}

using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Allocation;

/// <summary>
/// Seeded random allocate / change / release sequences. Every result is compared with a naive reference allocator
/// (<see cref="ReferenceAllocator"/>, linear scans over a hand-written address list) and every state with invariants
/// read from <see cref="IpAllocator.Leases"/>.
/// </summary>
public sealed class IpAllocatorRandomizedTests
{
    private const int Operations = 2_000;
    private const int SeedCount = 20;

    /// <summary>A pool with its allocatable addresses written out by hand, lowest first, so the model does not rely on IpPool.</summary>
    public sealed record Scenario(
        string Name,
        string Pool,
        string? Exclusions,
        string PoolText,
        string[] Allocatable,
        string[] NetworkOrBroadcast,
        string[] Excluded,
        string[] Outside,
        int ServiceNames,
        ServicePort[] Ports,
        int Operations);

    private static readonly ServicePort[] SmallPorts =
        [ServicePort.Tcp(80), ServicePort.Tcp(443), ServicePort.Tcp(53), ServicePort.Udp(53), ServicePort.Tcp(8080)];

    private static readonly Scenario[] Scenarios =
    [
        new("small", "10.0.0.0/29", "10.0.0.3", "10.0.0.0/29",
            ["10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"],
            ["10.0.0.0", "10.0.0.7"], ["10.0.0.3"], ["10.0.0.8", "2001:db8::1"],
            ServiceNames: 10, SmallPorts, Operations),
        new("mixed", "2001:db8::/126, 10.0.0.8-10.0.0.9, 10.0.0.0/30", "2001:db8::2",
            "2001:db8::/126, 10.0.0.8-10.0.0.9, 10.0.0.0/30",
            ["10.0.0.1", "10.0.0.2", "10.0.0.8", "10.0.0.9", "2001:db8::", "2001:db8::1", "2001:db8::3"],
            ["10.0.0.0", "10.0.0.3"], ["2001:db8::2"], ["10.0.0.4", "10.0.0.10", "2001:db8::4"],
            ServiceNames: 14, SmallPorts, Operations),
        // Enough holders of one port to cross ReuseIndex.IndexThreshold and fall back below it.
        new("threshold", "10.0.0.0/26", null, "10.0.0.0/26",
            [.. Enumerable.Range(1, 62).Select(i => $"10.0.0.{i}")],
            ["10.0.0.0", "10.0.0.63"], [], ["10.0.0.64"],
            ServiceNames: 90, [ServicePort.Tcp(80), ServicePort.Tcp(443), ServicePort.Udp(53)], Operations),
    ];

    public static TheoryData<string, int> Runs
    {
        get
        {
            var runs = new TheoryData<string, int>();
            foreach (var scenario in Scenarios)
            {
                var seeds = scenario.Name == "threshold" ? 3 : SeedCount;
                for (var seed = 1; seed <= seeds; seed++)
                {
                    runs.Add(scenario.Name, seed);
                }
            }

            return runs;
        }
    }

    [Fact]
    public void Scenarios_HandWrittenAddressLists_MatchThePools()
    {
        foreach (var scenario in Scenarios)
        {
            var pool = Pool(scenario.Pool, scenario.Exclusions);
            Assert.Equal(scenario.PoolText, pool.ToString());
            Assert.Equal((UInt128)scenario.Allocatable.Length, pool.Size);
            Assert.All(scenario.Allocatable, ip => Assert.Equal(PoolMembership.Allocatable, pool.Classify(Ip(ip))));
            Assert.All(scenario.NetworkOrBroadcast, ip => Assert.Equal(PoolMembership.NetworkOrBroadcast, pool.Classify(Ip(ip))));
            Assert.All(scenario.Excluded, ip => Assert.Equal(PoolMembership.Excluded, pool.Classify(Ip(ip))));
            Assert.All(scenario.Outside, ip => Assert.Equal(PoolMembership.OutsidePool, pool.Classify(Ip(ip))));
            Assert.Equal(scenario.Allocatable, scenario.Allocatable.Select(Ip).Order(AddressOrder.Instance).Select(ip => ip.ToString()));
        }
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void RandomOperations_MatchReferenceAndKeepInvariants(string scenarioName, int seed)
    {
        var scenario = Scenarios.Single(candidate => candidate.Name == scenarioName);
        var allocator = new IpAllocator(Pool(scenario.Pool, scenario.Exclusions));
        var reference = new ReferenceAllocator(scenario);

        var log = Run(scenario, seed, allocator, reference);

        Assert.Equal(scenario.Operations, log.Count);
        ReleaseAllAndFill(scenario, allocator, reference, seed);
    }

    [Theory]
    [InlineData("small", 7)]
    [InlineData("mixed", 11)]
    public void RandomOperations_SameSeedTwice_GiveIdenticalResults(string scenarioName, int seed)
    {
        var scenario = Scenarios.Single(candidate => candidate.Name == scenarioName);

        var first = Run(scenario, seed, new IpAllocator(Pool(scenario.Pool, scenario.Exclusions)), new ReferenceAllocator(scenario));
        var second = Run(scenario, seed, new IpAllocator(Pool(scenario.Pool, scenario.Exclusions)), new ReferenceAllocator(scenario));

        Assert.Equal(scenario.Operations, first.Count);
        Assert.Equal(first, second);

        // The sequence reaches every rule the reference checks.
        string[] outcomes =
        [
            "refused PoolExhausted", "refused PortInUse", "refused NotShareable", "refused OutsidePool",
            "refused NetworkOrBroadcast", "refused Excluded", " New ", " Reused ", " Requested ", " Kept changed=True",
            " Kept changed=False", " vacated=10.", "unused=True", "unused=False", "ip=- unused=False",
        ];
        Assert.All(outcomes, outcome => Assert.Contains(first, line => line.Contains(outcome, StringComparison.Ordinal)));
    }

    [Fact]
    public void RandomOperations_ThresholdScenario_HoldsOnePortOnMoreIpsThanTheIndexThreshold()
    {
        var scenario = Scenarios.Single(candidate => candidate.Name == "threshold");
        var holders = new List<int>();

        Run(scenario, 1, new IpAllocator(Pool(scenario.Pool, scenario.Exclusions)), new ReferenceAllocator(scenario),
            allocator => holders.Add(allocator.Leases().Count(lease => lease.Ports.Any(port => port.Binding.Port == scenario.Ports[0]))));

        Assert.InRange(holders.Max(), ReuseIndex.IndexThreshold + 1, 62);
        Assert.Contains(holders, count => count < ReuseIndex.IndexThreshold);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomOperations_WithPortSetIndexing_MatchReference(int seed)
    {
        // The threshold scenario packs IPs, so walks pass the limit and port sets get indexed; the default cache.
        var scenario = Scenarios.Single(candidate => candidate.Name == "threshold");
        var indexed = new List<int>();

        Run(scenario, seed, new IpAllocator(Pool(scenario.Pool, scenario.Exclusions)), new ReferenceAllocator(scenario),
            allocator => indexed.Add(allocator.IndexedPortSetCount));

        Assert.Contains(indexed, count => count > 0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomOperations_WithATinyIndexCache_EvictAndStillMatchReference(int seed)
    {
        // Room for two indexed port sets while the scenario asks for many: sets are evicted and rebuilt all the time.
        var scenario = Scenarios.Single(candidate => candidate.Name == "threshold");
        var indexed = new List<int>();
        long evictions = 0;

        Run(scenario, seed, new IpAllocator(Pool(scenario.Pool, scenario.Exclusions), maxIndexedPortSets: 2), new ReferenceAllocator(scenario),
            allocator =>
            {
                indexed.Add(allocator.IndexedPortSetCount);
                evictions = Math.Max(evictions, allocator.IndexEvictions);
            });

        Assert.Contains(indexed, count => count > 0);
        Assert.True(evictions > 0, "the scenario never evicted an indexed port set");
        Assert.All(indexed, count => Assert.InRange(count, 0, 2 * 5));
    }

    private static List<string> Run(
        Scenario scenario, int seed, IpAllocator allocator, ReferenceAllocator reference, Action<IpAllocator>? afterStep = null)
    {
        var random = new Random(seed);
        var log = new List<string>(scenario.Operations);
        for (var step = 0; step < scenario.Operations; step++)
        {
            var service = Key($"s{random.Next(scenario.ServiceNames)}");
            var roll = random.Next(100);
            string operation, expected, actual;
            if (roll < 25)
            {
                operation = $"release {service}";
                expected = reference.Release(service);
                actual = Describe(allocator.Release(service));
            }
            else
            {
                var request = roll < 40 && reference.Current(service) is { } current
                    ? Vary(current, scenario, random)
                    : RandomRequest(service, scenario, random);
                operation = $"allocate {Describe(request)}";
                expected = reference.Allocate(request);
                actual = Describe(allocator.Allocate(request));
            }

            if (expected != actual)
            {
                Assert.Fail($"{scenario.Name} seed {seed} step {step}: {operation}\nexpected {expected}\nactual   {actual}\nleases:\n{TestData.Describe(allocator.Leases())}");
            }

            CheckInvariants(scenario, allocator, reference, () => $"{scenario.Name} seed {seed} step {step}: {operation}");
            log.Add($"{operation} -> {actual}");
            afterStep?.Invoke(allocator);
        }

        return log;
    }

    private static void ReleaseAllAndFill(Scenario scenario, IpAllocator allocator, ReferenceAllocator reference, int seed)
    {
        var random = new Random(seed);
        foreach (var service in reference.Services.OrderBy(_ => random.Next()).ToList())
        {
            var release = allocator.Release(service);
            Assert.True(release.WasAllocated);
            Assert.Equal(reference.Release(service), Describe(release));
        }

        Assert.Empty(allocator.Leases());
        Assert.Equal(0, allocator.ServiceCount);
        Assert.Equal(0, allocator.IpCount);

        var handedOut = new List<string>();
        for (var i = 0; i < (int)allocator.Pool.Size; i++)
        {
            var result = allocator.Allocate(new LoadBalancerRequest(Key($"fill{i}"), [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive));
            Assert.True(result.Succeeded, result.Refusal?.Message);
            Assert.Equal(AllocationReason.New, result.Allocation!.Reason);
            handedOut.Add(result.Allocation.Ip.ToString());
        }

        Assert.Equal(scenario.Allocatable, handedOut);
        var refusal = allocator.Allocate(new LoadBalancerRequest(Key("one-too-many"), [ServicePort.Tcp(443)], sharing: IpSharing.Exclusive));
        Assert.Equal(RefusalKind.PoolExhausted, refusal.Refusal!.Kind);
        Assert.Equal("no available IPs for port 443 in pool 'default'", refusal.Refusal.Message);
    }

    private static LoadBalancerRequest RandomRequest(ServiceKey service, Scenario scenario, Random random)
    {
        var count = 1 + random.Next(3);
        var ports = scenario.Ports.OrderBy(_ => random.Next()).Take(count).ToArray();
        var explicitIp = random.Next(5) == 0 ? RandomCandidate(scenario, random) : null;
        return new LoadBalancerRequest(service, ports, explicitIp, RandomSharing(random), DateTimeOffset.UnixEpoch.AddSeconds(random.Next(1000)));
    }

    private static IPAddress RandomCandidate(Scenario scenario, Random random)
    {
        var roll = random.Next(10);
        string[] from = roll switch
        {
            0 => scenario.NetworkOrBroadcast,
            1 => scenario.Outside,
            2 when scenario.Excluded.Length > 0 => scenario.Excluded,
            _ => scenario.Allocatable,
        };
        var text = from[random.Next(from.Length)];
        return random.Next(10) == 0 && !text.Contains(':', StringComparison.Ordinal) ? Ip($"::ffff:{text}") : Ip(text);
    }

    private static IpSharing RandomSharing(Random random) => random.Next(100) switch
    {
        < 65 => IpSharing.Shared,
        < 78 => IpSharing.WithKey("a"),
        < 86 => IpSharing.WithKey("b"),
        _ => IpSharing.Exclusive,
    };

    /// <summary>The same request again, or one change to it: a port more or less, an explicit IP set or dropped, a new sharing.</summary>
    private static LoadBalancerRequest Vary(LoadBalancerRequest current, Scenario scenario, Random random)
    {
        var ports = current.Ports.ToList();
        var ip = current.RequestedIp;
        var sharing = current.Sharing;
        switch (random.Next(6))
        {
            case 0:
                break;
            case 1:
                var extra = scenario.Ports.Except(ports).ToArray();
                if (extra.Length > 0)
                {
                    ports.Add(extra[random.Next(extra.Length)]);
                }

                break;
            case 2:
                if (ports.Count > 1)
                {
                    ports.RemoveAt(random.Next(ports.Count));
                }

                break;
            case 3:
                ip = ip is null ? RandomCandidate(scenario, random) : null;
                break;
            case 4:
                sharing = RandomSharing(random);
                break;
            default:
                ip = RandomCandidate(scenario, random);
                break;
        }

        return new LoadBalancerRequest(current.Service, ports, ip, sharing, current.CreatedAt.AddSeconds(random.Next(2)));
    }

    private static void CheckInvariants(Scenario scenario, IpAllocator allocator, ReferenceAllocator reference, Func<string> context)
    {
        if (FindBrokenInvariant(scenario, allocator, reference) is { } broken)
        {
            Assert.Fail($"{context()}: {broken}\nleases:\n{TestData.Describe(allocator.Leases())}");
        }
    }

    /// <summary>The first invariant the allocator's leases break, or null. Plain checks: this runs after every step.</summary>
    private static string? FindBrokenInvariant(Scenario scenario, IpAllocator allocator, ReferenceAllocator reference)
    {
        var leases = allocator.Leases();
        var owners = new Dictionary<ServiceKey, (IPAddress Ip, List<ServicePort> Ports)>();
        IPAddress? previous = null;
        foreach (var lease in leases)
        {
            var ip = lease.Ip.ToString();
            if (previous is not null && AddressOrder.Instance.Compare(previous, lease.Ip) >= 0)
            {
                return $"leases out of order: {previous} before {ip}";
            }

            previous = lease.Ip;
            if (!allocator.Pool.Contains(lease.Ip) || !scenario.Allocatable.Contains(ip))
            {
                return $"{ip} is not allocatable";
            }

            if (scenario.NetworkOrBroadcast.Contains(ip))
            {
                return $"{ip} is a network or broadcast address";
            }

            if (lease.Ports.Count == 0)
            {
                return $"{ip} is leased without ports";
            }

            if (lease.Ports.Select(port => port.Binding.Port).Distinct().Count() != lease.Ports.Count)
            {
                return $"{ip} has a port owned twice";
            }

            var ownersHere = lease.Owners.ToList();
            if (lease.Sharing.Mode == IpSharingMode.Exclusive && ownersHere.Count != 1)
            {
                return $"exclusive {ip} has {ownersHere.Count} owners";
            }

            foreach (var port in lease.Ports)
            {
                if (!port.Binding.Ip.Equals(lease.Ip))
                {
                    return $"{ip} lists binding {port.Binding}";
                }

                if (!owners.TryGetValue(port.Owner, out var owned))
                {
                    owned = (lease.Ip, []);
                    owners.Add(port.Owner, owned);
                }

                if (!owned.Ip.Equals(lease.Ip))
                {
                    return $"{port.Owner} holds ports on {owned.Ip} and {ip}";
                }

                owned.Ports.Add(port.Binding.Port);
            }

            foreach (var owner in ownersHere)
            {
                if (reference.Current(owner) is not { } request || request.Sharing != lease.Sharing)
                {
                    return $"{owner} on {ip} ({lease.Sharing}) does not match its request";
                }
            }
        }

        if (!reference.Services.Order().SequenceEqual(owners.Keys.Order()))
        {
            return $"services differ: expected [{string.Join(", ", reference.Services.Order())}], leased [{string.Join(", ", owners.Keys.Order())}]";
        }

        foreach (var (service, owned) in owners)
        {
            if (!reference.Current(service)!.Ports.SequenceEqual(owned.Ports.Order()))
            {
                return $"{service} holds [{string.Join(", ", owned.Ports.Order())}], not its requested ports";
            }

            if (!owned.Ip.Equals(reference.IpOf(service)) || !owned.Ip.Equals(allocator.FindAssignment(service)?.Ip))
            {
                return $"{service} is on {owned.Ip}, expected {reference.IpOf(service)}";
            }
        }

        return owners.Count != allocator.ServiceCount || leases.Count != allocator.IpCount
            ? $"counts differ: {allocator.ServiceCount} services, {allocator.IpCount} IPs"
            : null;
    }

    private static string Describe(LoadBalancerRequest request) =>
        $"{request.Service} [{string.Join(", ", request.Ports)}] ip={request.RequestedIp?.ToString() ?? "-"} {request.Sharing}";

    private static string Describe(AllocationResult result) => result.Allocation is { } allocation
        ? Allocated(allocation.Ip, allocation.Reason, allocation.Changed, allocation.VacatedIp, allocation.Bindings)
        : Refused(result.Refusal!.Kind, result.Refusal.Reason, result.Refusal.Message);

    private static string Describe(IpRelease release) =>
        $"release {release.Service} ip={release.Ip?.ToString() ?? "-"} unused={release.IpUnused} [{string.Join(", ", release.Freed)}]";

    private static string Allocated(IPAddress ip, AllocationReason reason, bool changed, IPAddress? vacated, IEnumerable<PortBinding> bindings) =>
        $"ok {ip} {reason} changed={changed} vacated={vacated?.ToString() ?? "-"} [{string.Join(", ", bindings)}]";

    private static string Refused(RefusalKind kind, string reason, string message) => $"refused {kind} reason={reason} message={message}";

    /// <summary>IPv4 before IPv6, then numerically.</summary>
    private sealed class AddressOrder : IComparer<IPAddress>
    {
        public static readonly AddressOrder Instance = new();

        public int Compare(IPAddress? x, IPAddress? y)
        {
            ArgumentNullException.ThrowIfNull(x);
            ArgumentNullException.ThrowIfNull(y);
            var byFamily = (x.AddressFamily == AddressFamily.InterNetworkV6).CompareTo(y.AddressFamily == AddressFamily.InterNetworkV6);
            return byFamily != 0 ? byFamily : x.GetAddressBytes().AsSpan().SequenceCompareTo(y.GetAddressBytes());
        }
    }

    /// <summary>The allocation rules written as plainly as possible: linear scans, no indexes, no cursor.</summary>
    private sealed class ReferenceAllocator(Scenario scenario)
    {
        private readonly Dictionary<ServiceKey, (LoadBalancerRequest Request, IPAddress Ip)> _services = [];
        private readonly IPAddress[] _allocatable = [.. scenario.Allocatable.Select(Ip)];

        // Position in the hand-written, lowest-first list: IPs in use are always allocatable ones.
        private readonly Dictionary<IPAddress, int> _rank =
            scenario.Allocatable.Select((text, index) => (Ip(text), index)).ToDictionary(pair => pair.Item1, pair => pair.index);

        public IEnumerable<ServiceKey> Services => _services.Keys;

        public LoadBalancerRequest? Current(ServiceKey service) => _services.TryGetValue(service, out var held) ? held.Request : null;

        public IPAddress? IpOf(ServiceKey service) => _services.TryGetValue(service, out var held) ? held.Ip : null;

        public string Allocate(LoadBalancerRequest request)
        {
            if (!_services.TryGetValue(request.Service, out var current))
            {
                return Place(request, preferred: null, out _);
            }

            if (current.Request.AsksSameAs(request))
            {
                _services[request.Service] = (request, current.Ip);
                return Allocated(current.Ip, AllocationReason.Kept, false, null, Bindings(request, current.Ip));
            }

            _services.Remove(request.Service);
            var outcome = Place(request, current.Ip, out var placed);
            if (placed is null)
            {
                _services.Add(request.Service, current);
                return outcome;
            }

            var vacated = !placed.Equals(current.Ip) && !IsHeld(current.Ip) ? current.Ip : null;
            return Allocated(placed, Reason(outcome), true, vacated, Bindings(request, placed));
        }

        public string Release(ServiceKey service)
        {
            if (!_services.Remove(service, out var held))
            {
                return $"release {service} ip=- unused=False []";
            }

            var unused = !IsHeld(held.Ip);
            return $"release {service} ip={held.Ip} unused={unused} [{string.Join(", ", Bindings(held.Request, held.Ip))}]";
        }

        private static AllocationReason Reason(string outcome) => Enum.Parse<AllocationReason>(outcome.Split(' ')[2]);

        private string Place(LoadBalancerRequest request, IPAddress? preferred, out IPAddress? placed)
        {
            placed = null;
            var byIp = _services.Values
                .GroupBy(held => held.Ip)
                .ToDictionary(group => group.Key, group => group.Select(held => held.Request).ToList());
            if (request.RequestedIp is { } requested)
            {
                if (Check(byIp, request, requested) is { } refusal)
                {
                    var message = $"FAILED to allocate requested LoadBalancerIP {new PortBinding(requested, request.Ports[0])} - Reason: {refusal.Reason}";
                    return Refused(refusal.Kind, refusal.Reason, message);
                }

                return Give(request, requested, requested.Equals(preferred) ? AllocationReason.Kept : AllocationReason.Requested, out placed);
            }

            if (preferred is not null && Check(byIp, request, preferred) is null)
            {
                return Give(request, preferred, AllocationReason.Kept, out placed);
            }

            if (request.Sharing.Mode != IpSharingMode.Exclusive)
            {
                foreach (var (ip, holders) in byIp.OrderBy(pair => _rank[pair.Key]))
                {
                    if (holders[0].Sharing == request.Sharing
                        && !request.Ports.Any(port => holders.Any(holder => holder.Ports.Contains(port))))
                    {
                        return Give(request, ip, AllocationReason.Reused, out placed);
                    }
                }
            }

            foreach (var ip in _allocatable)
            {
                if (!byIp.ContainsKey(ip))
                {
                    return Give(request, ip, AllocationReason.New, out placed);
                }
            }

            var ports = request.Ports.Count == 1 ? $"port {request.Ports[0]}" : $"ports {string.Join(", ", request.Ports)}";
            return Refused(RefusalKind.PoolExhausted, $"no available IPs for {ports} in pool 'default'", $"no available IPs for {ports} in pool 'default'");
        }

        private string Give(LoadBalancerRequest request, IPAddress ip, AllocationReason reason, out IPAddress? placed)
        {
            _services.Add(request.Service, (request, ip));
            placed = ip;
            return Allocated(ip, reason, true, null, Bindings(request, ip));
        }

        private (RefusalKind Kind, string Reason)? Check(
            Dictionary<IPAddress, List<LoadBalancerRequest>> byIp, LoadBalancerRequest request, IPAddress ip)
        {
            var text = ip.ToString();
            if (!_rank.ContainsKey(ip))
            {
                return scenario.NetworkOrBroadcast.Contains(text) ? (RefusalKind.NetworkOrBroadcast, $"IP {ip} is a network or broadcast address of pool 'default'")
                    : scenario.Excluded.Contains(text) ? (RefusalKind.Excluded, $"IP {ip} is excluded from pool 'default'")
                    : (RefusalKind.OutsidePool, $"IP {ip} is not in CIDR range {scenario.PoolText} of pool 'default'");
            }

            if (!byIp.TryGetValue(ip, out var holders))
            {
                return null;
            }

            foreach (var port in request.Ports)
            {
                if (holders.Any(holder => holder.Ports.Contains(port)))
                {
                    return (RefusalKind.PortInUse, $"IP:port {new PortBinding(ip, port)} is already allocated");
                }
            }

            var sharing = holders[0].Sharing;
            if (sharing != request.Sharing || request.Sharing.Mode == IpSharingMode.Exclusive)
            {
                var holder = holders.Select(held => held.Service).Min();
                return (RefusalKind.NotShareable,
                    $"IP {ip} is held by {holder} ({sharing}) and cannot be shared with a {request.Sharing} service");
            }

            return null;
        }

        private bool IsHeld(IPAddress ip) => _services.Values.Any(held => held.Ip.Equals(ip));

        private static PortBinding[] Bindings(LoadBalancerRequest request, IPAddress ip) =>
            [.. request.Ports.Select(port => new PortBinding(ip, port))];
    }
}

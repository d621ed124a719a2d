using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Allocation.Benchmarks;

public enum PortMix
{
    /// <summary>TCP 80 only: every service needs an IP of its own.</summary>
    SinglePort,

    /// <summary>1–3 of TCP/UDP 80, 443, 8080 and 53: services share IPs wherever their ports differ.</summary>
    Mixed,

    /// <summary>
    /// 60% TCP 443 only, 20% TCP 80 only, 20% both: HTTPS-only services outnumber HTTP ones, so many IPs have 80 free
    /// but 443 taken, and a service asking for both must not walk through all of them.
    /// </summary>
    Skewed,
}

/// <summary>Requests built once, outside the measured code, so a benchmark times the allocator and nothing else.</summary>
internal static class Workload
{
    public const string PoolCidr = "10.0.0.0/16";

    private static readonly ServicePort[] MixedPorts =
    [
        ServicePort.Tcp(80), ServicePort.Tcp(443), ServicePort.Tcp(8080), ServicePort.Tcp(53),
        ServicePort.Udp(80), ServicePort.Udp(443), ServicePort.Udp(8080), ServicePort.Udp(53),
    ];

    public static IpPool Pool { get; } = IpPool.Parse(PoolCidr).Pool
        ?? throw new InvalidOperationException($"pool {PoolCidr} does not parse");

    /// <summary>Services <c>bench/svc-{first}</c> onwards; the same seed gives the same port sets.</summary>
    public static LoadBalancerRequest[] Requests(int first, int count, PortMix mix, Random random)
    {
        var requests = new LoadBalancerRequest[count];
        for (var i = 0; i < count; i++)
        {
            var service = new ServiceKey("bench", $"svc-{first + i:D6}");
            ServicePort[] ports = mix switch
            {
                PortMix.SinglePort => [ServicePort.Tcp(80)],
                PortMix.Skewed => PickSkewed(random),
                _ => PickPorts(random),
            };
            requests[i] = new LoadBalancerRequest(service, ports);
        }

        return requests;
    }

    /// <summary>A seeded Fisher–Yates shuffle of 0..count-1.</summary>
    public static int[] Permutation(int count, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        return order;
    }

    /// <summary>Throws rather than letting a refusal pass as a fast allocation.</summary>
    public static void Allocate(IpAllocator allocator, LoadBalancerRequest request)
    {
        var result = allocator.Allocate(request);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"benchmark request refused: {result.Refusal}");
        }
    }

    public static void Release(IpAllocator allocator, ServiceKey service)
    {
        if (!allocator.Release(service).WasAllocated)
        {
            throw new InvalidOperationException($"benchmark service {service} was not allocated");
        }
    }

    private static ServicePort[] PickSkewed(Random random) => random.Next(10) switch
    {
        < 6 => [ServicePort.Tcp(443)],
        < 8 => [ServicePort.Tcp(80)],
        _ => [ServicePort.Tcp(80), ServicePort.Tcp(443)],
    };

    private static ServicePort[] PickPorts(Random random)
    {
        var ports = MixedPorts.ToArray();
        random.Shuffle(ports);
        return ports[..random.Next(1, 4)];
    }
}

using LoadBalancer.Domain.Allocation;

namespace LoadBalancer.Application.Allocation;

public static class PoolText
{
    /// <summary>
    /// The pools for a log line: the addresses of the only pool, as before named pools existed
    /// (<c>192.168.0.224/28</c>), else each pool's name and addresses (<c>'default' (192.168.0.224/28), 'lan' (…)</c>).
    /// </summary>
    public static string Describe(IReadOnlyList<PoolUsage> pools)
    {
        ArgumentNullException.ThrowIfNull(pools);
        return pools.Count == 1
            ? pools[0].Addresses.ToString()
            : string.Join(", ", pools.Select(pool => $"'{pool.Name}' ({pool.Addresses})"));
    }
}

using LoadBalancer.Domain.Addressing;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Allocation;

internal static class PoolFactory
{
    /// <summary>The configured pool; a bad one throws with every problem in it, naming the entry and the value.</summary>
    public static IpPool Create(AllocationOptions options)
    {
        var parsed = IpPool.Parse(options.Pool, options.Excluded);
        return parsed.Pool ?? throw new OptionsValidationException(
            nameof(AllocationOptions), typeof(AllocationOptions), parsed.Errors);
    }
}

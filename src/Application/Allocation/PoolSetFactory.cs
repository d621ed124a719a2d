using LoadBalancer.Domain.Text;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Allocation;

/// <summary>The pools of an <see cref="AllocationOptions"/>, or every problem in it, each naming its key path.</summary>
public sealed record PoolSetBuild(IReadOnlyList<AddressPool>? Pools, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Pools is not null;
}

/// <summary>
/// Turns configuration into pools. Each problem names the key as the configuration writes it
/// (<c>pools[1].addresses[0]: '10.0.0.300/24' is not a CIDR, range or address: …</c>), and all are reported at once.
/// </summary>
public static class PoolSetFactory
{
    public const string DefaultPoolKey = "restrictedCidr";
    public const string DefaultExcludeKey = "exclude";

    public static PoolSetBuild Build(AllocationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var pools = new List<(AddressPool Pool, string Key)>();
        if (options.Pool is { } text)
        {
            var entries = Split(text);
            var excluded = options.Excluded is null ? [] : Split(options.Excluded);
            if (entries.Length == 0)
            {
                errors.Add($"{DefaultPoolKey}: at least one CIDR, range or address is required");
            }

            if (BuildAddresses(entries, excluded, _ => DefaultPoolKey, _ => DefaultExcludeKey, DefaultPoolKey, errors) is { } addresses)
            {
                pools.Add((new AddressPool(AddressPool.DefaultName, addresses), DefaultPoolKey));
            }
        }
        else if (!string.IsNullOrWhiteSpace(options.Excluded))
        {
            errors.Add($"{DefaultExcludeKey}: excludes addresses from the pool '{AddressPool.DefaultName}', and there is none ({DefaultPoolKey} is not set)");
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < options.Pools.Count; i++)
        {
            var key = $"pools[{i}]";
            var pool = options.Pools[i];
            if (pool is null)
            {
                errors.Add($"{key}: an entry is empty");
                continue;
            }

            var nameOk = CheckName(pool.Name, key, seen, i, errors);
            if (pool.Addresses.Count == 0)
            {
                errors.Add($"{key}.addresses: at least one CIDR, range or address is required");
            }

            var addresses = BuildAddresses(pool.Addresses, pool.Exclude, j => $"{key}.addresses[{j}]", j => $"{key}.exclude[{j}]",
                $"{key}.addresses", errors);
            for (var j = 0; j < pool.Namespaces.Count; j++)
            {
                if (!ServiceSpecValidator.BeDnsLabel(pool.Namespaces[j]))
                {
                    errors.Add($"{key}.namespaces[{j}]: '{pool.Namespaces[j]}' is not a namespace name: lower-case letters, digits and '-', at most 63 characters");
                }
            }

            if (!LabelSelector.TryParse(pool.ServiceSelector, out var selector, out var selectorError))
            {
                errors.Add($"{key}.serviceSelector: {selectorError}");
            }

            if (nameOk && addresses is not null && selector is not null)
            {
                pools.Add((new AddressPool(pool.Name, addresses, pool.Namespaces, selector, pool.AutoAssign), key));
            }
        }

        if (options.Pool is null && options.Pools.Count == 0)
        {
            errors.Add($"{DefaultPoolKey}, pools: no pool: set {DefaultPoolKey} or list pools");
        }

        for (var i = 0; i < pools.Count; i++)
        {
            for (var j = i + 1; j < pools.Count; j++)
            {
                if (pools[i].Pool.Addresses.FirstCommonAddress(pools[j].Pool.Addresses) is { } shared)
                {
                    errors.Add($"{pools[j].Key}: pool '{pools[j].Pool.Name}' and pool '{pools[i].Pool.Name}' ({pools[i].Key}) both hold {shared}; an address may be in one pool only");
                }
            }
        }

        return errors.Count > 0 ? new PoolSetBuild(null, errors) : new PoolSetBuild([.. pools.Select(pool => pool.Pool)], []);
    }

    /// <summary>The pools; configuration that is not valid throws with every problem, as options validation does.</summary>
    public static IReadOnlyList<AddressPool> Create(AllocationOptions options)
    {
        var built = Build(options);
        return built.Pools ?? throw new OptionsValidationException(nameof(AllocationOptions), typeof(AllocationOptions), built.Errors);
    }

    private static bool CheckName(string? name, string key, Dictionary<string, int> seen, int index, List<string> errors)
    {
        if (string.IsNullOrEmpty(name))
        {
            errors.Add($"{key}.name: a name is required");
            return false;
        }

        if (!ServiceSpecValidator.BeDnsLabel(name))
        {
            errors.Add($"{key}.name: {QuotedValue.Of(name)} must be lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters");
            return false;
        }

        if (name == AddressPool.DefaultName)
        {
            errors.Add($"{key}.name: {QuotedValue.Of(name)} is the name of the pool set by {DefaultPoolKey}; choose another");
            return false;
        }

        if (seen.TryGetValue(name, out var first))
        {
            errors.Add($"{key}.name: {QuotedValue.Of(name)} is also the name of pools[{first}]; names must be unique");
            return false;
        }

        seen.Add(name, index);
        return true;
    }

    private static IpPool? BuildAddresses(
        IReadOnlyList<string> entries, IReadOnlyList<string> exclusions, Func<int, string> entryKey, Func<int, string> exclusionKey,
        string poolKey, List<string> errors)
    {
        var before = errors.Count;
        for (var i = 0; i < entries.Count; i++)
        {
            if (IpPool.EntryProblem(entries[i]) is { } problem)
            {
                errors.Add($"{entryKey(i)}: '{entries[i]}' is not a CIDR, range or address: {problem}");
            }
        }

        for (var i = 0; i < exclusions.Count; i++)
        {
            if (IpPool.EntryProblem(exclusions[i]) is { } problem)
            {
                errors.Add($"{exclusionKey(i)}: '{exclusions[i]}' is not a CIDR, range or address: {problem}");
            }
        }

        if (errors.Count > before || entries.Count == 0)
        {
            return null;
        }

        var parsed = IpPool.Parse(entries, exclusions);
        errors.AddRange(parsed.Errors.Select(error => $"{poolKey}: {error}"));
        return parsed.Pool;
    }

    private static string[] Split(string list) =>
        list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

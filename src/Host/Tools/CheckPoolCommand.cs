using LoadBalancer.Domain.Addressing;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;

namespace LoadBalancer.Host.Tools;

/// <summary><c>loadbalancer check-pool</c>: the default pool's size and first addresses, from every layer.</summary>
public static class CheckPoolCommand
{
    public static async Task<int> RunAsync(RunContext run, ConfigurationInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (await StartingConfiguration.LoadAsync(run, inputs).ConfigureAwait(false) is not { } configuration)
        {
            return ExitCodes.UsageError;
        }

        var allocation = configuration.Settings.Allocation();
        if (allocation.Pool is null)
        {
            await run.Output.WriteLineAsync("no default pool: restrictedCidr is not set and named pools are").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        var pool = IpPool.Parse(allocation.Pool, allocation.Excluded).Pool!;
        await run.Output.WriteLineAsync($"pool: {pool}").ConfigureAwait(false);
        if (pool.Exclusions.Count > 0)
        {
            await run.Output.WriteLineAsync($"excluded: {string.Join(", ", pool.Exclusions)}").ConfigureAwait(false);
        }

        await run.Output.WriteLineAsync($"allocatable addresses: {pool.Size}").ConfigureAwait(false);
        await run.Output.WriteLineAsync($"first addresses: {string.Join(", ", pool.FirstAddresses(4))}").ConfigureAwait(false);
        return ExitCodes.Success;
    }
}

using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace LoadBalancer.Allocation.Benchmarks;

/// <summary>
/// One short job so the whole suite runs in about a minute on two cores. Each invocation must start from a fresh
/// allocator built in [IterationSetup], which BenchmarkDotNet runs once per iteration, so an iteration is exactly one
/// invocation; a scenario is 10,000 requests, so an iteration still lasts tens of milliseconds.
/// </summary>
public sealed class AllocationBenchmarkConfig : ManualConfig
{
    public AllocationBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(20)
            .WithInvocationCount(1)
            .WithUnrollFactor(1));
        // The build machines are shared; the median and minimum resist a neighbour's burst better than the mean.
        AddColumn(StatisticColumn.Median, StatisticColumn.Min);
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}

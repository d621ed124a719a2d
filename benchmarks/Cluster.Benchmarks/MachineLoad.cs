using System.Diagnostics;
using System.Globalization;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>
/// How much CPU the whole machine used over a stretch of time, so that what other processes took (builds, tests on a
/// shared machine) can be told apart from the benchmark's own work.
/// </summary>
internal sealed class MachineLoad
{
    private const double ClockTicksPerSecond = 100;

    private readonly long _busyTicks = BusyTicks();
    private readonly long _startedAt = Stopwatch.GetTimestamp();

    /// <summary>CPU cores, on average, taken by processes other than those whose CPU seconds are given.</summary>
    public double OthersCores(double ownCpuSeconds)
    {
        var seconds = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
        var busy = (BusyTicks() - _busyTicks) / ClockTicksPerSecond;
        return seconds <= 0 ? 0 : Math.Max(0, (busy - ownCpuSeconds) / seconds);
    }

    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    /// <summary>user + nice + system + irq + softirq + steal of the "cpu" line of /proc/stat.</summary>
    private static long BusyTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long Field(int index) => long.Parse(fields[index], CultureInfo.InvariantCulture);
        return Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8);
    }
}

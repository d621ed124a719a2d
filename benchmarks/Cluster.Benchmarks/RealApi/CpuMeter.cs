namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>CPU seconds (user + system, /proc/PID/stat) a process used since this meter was made; NaN when it is unknown or gone.</summary>
internal sealed class CpuMeter(int? pid)
{
    private readonly double _before = pid is { } id ? ProcFs.CpuSeconds(id) ?? double.NaN : double.NaN;

    public double Seconds() => pid is { } id && ProcFs.CpuSeconds(id) is { } now ? now - _before : double.NaN;
}

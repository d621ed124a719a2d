using System.Globalization;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>What /proc tells about a process: memory, CPU time, open files and their limit.</summary>
internal static class ProcFs
{
    private const double ClockTicksPerSecond = 100; // USER_HZ; `getconf CLK_TCK` answers 100 on Linux x86-64 and arm64.

    /// <summary>A field of /proc/PID/status in KiB (VmRSS, VmHWM, RssAnon, RssFile), or null when the process is gone.</summary>
    public static long? StatusKiB(int pid, string field) => StatusField(pid, field) is { } value
        ? long.Parse(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture)
        : null;

    public static string? StatusField(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return line[(field.Length + 1)..].Trim();
                }
            }
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>User plus system CPU seconds of the process and its threads.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // The command name (field 2) may hold spaces; fields after its closing parenthesis are space-separated.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static int? OpenFiles(int pid)
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The soft and hard "Max open files" limit the process runs with.</summary>
    public static (string Soft, string Hard)? OpenFilesLimit(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return (parts[0], parts[1]);
                }
            }
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>Where and on what the figures were measured.</summary>
internal sealed record Machine(int Cores, string Cpu, string Kernel, string Runtime, string Commit, int UncommittedFiles, string LoadAverage)
{
    public static Machine Describe(string root, string loadAverage) => new(
        Environment.ProcessorCount,
        CpuName(),
        File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
        RuntimeInformation.FrameworkDescription,
        Git(root, "rev-parse", "--short", "HEAD").Trim(),
        Git(root, "status", "--porcelain", "--", "src", "tests/FakeKubernetesApi").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length,
        loadAverage);

    /// <summary>"model name" alone can be as vague as "AMD EPYC" under a hypervisor; family and model pin the generation.</summary>
    private static string CpuName()
    {
        string? name = null, family = null, model = null;
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
        {
            if (line.Length == 0)
            {
                break;
            }

            var parts = line.Split(':', 2, StringSplitOptions.TrimEntries);
            switch (parts[0])
            {
                case "model name":
                    name = parts[1];
                    break;
                case "cpu family":
                    family = parts[1];
                    break;
                case "model":
                    model = parts[1];
                    break;
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{name ?? "?"} (family {family ?? "?"}, model {model ?? "?"})");
    }

    private static string Git(string root, params string[] arguments)
    {
        var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            using var git = Process.Start(info)!;
            var output = git.StandardOutput.ReadToEnd();
            git.WaitForExit();
            return git.ExitCode == 0 ? output : "?";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "?";
        }
    }
}

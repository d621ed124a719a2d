using System.Diagnostics;
using System.Text.RegularExpressions;

namespace LoadBalancer.Host.Tests.Packaging;

/// <summary>
/// What ships beside the binary: the systemd unit is one systemd accepts and grants what the daemon needs, and the k3d
/// script parses. (There is no container engine or k3d here, so neither is run.)
/// </summary>
public sealed partial class PackagingTests
{
    private static readonly string Root = LoadBalancer.Tests.Shared.RepositoryRoot.Path;

    private static string UnitPath => Path.Combine(Root, "deploy", "systemd", "little-load-balancer.service");

    [Fact]
    public void SystemdUnit_IsAcceptedBySystemdAnalyze()
    {
        // systemd-analyze also checks that ExecStart's program exists: point it at one that does, in a copy.
        var directory = Directory.CreateTempSubdirectory("littlelb-unit-");
        try
        {
            var unit = File.ReadAllText(UnitPath).Replace("/opt/little-load-balancer/loadbalancer", "/bin/true", StringComparison.Ordinal);
            var copy = Path.Combine(directory.FullName, "little-load-balancer.service");
            File.WriteAllText(copy, unit);

            var (exitCode, output) = Run("systemd-analyze", "verify", copy);

            Assert.True(exitCode == 0, $"systemd-analyze verify exited {exitCode}: {output}");
            Assert.DoesNotContain("little-load-balancer.service", output, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("Type", "notify")]
    [InlineData("ExecReload", "/bin/kill -HUP $MAINPID")]
    [InlineData("AmbientCapabilities", "CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE")]
    [InlineData("CapabilityBoundingSet", "CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE")]
    [InlineData("LimitNOFILE", "1048576")]
    [InlineData("KillSignal", "SIGTERM")]
    [InlineData("StateDirectory", "little-load-balancer")]
    public void SystemdUnit_SetsWhatTheDaemonReliesOn(string key, string value)
    {
        var settings = UnitSettings().Where(setting => setting.Key == key).Select(setting => setting.Value).ToList();

        Assert.Contains(value, settings);
    }

    [Fact]
    public void SystemdUnit_StopTimeout_LeavesRoomForTheDefaultDrain()
    {
        var stop = UnitSettings().Single(setting => setting.Key == "TimeoutStopSec").Value;

        Assert.True(int.Parse(stop.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) > 10, $"TimeoutStopSec={stop}");
    }

    [Fact]
    public void K3dScript_Parses()
    {
        var (exitCode, output) = Run("bash", "-n", Path.Combine(Root, "deploy", "k3d", "littlelb-k3d.sh"));

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public void K3dScript_WithoutACommand_PrintsItsUsage_AndExits2()
    {
        var (exitCode, output) = Run("bash", Path.Combine(Root, "deploy", "k3d", "littlelb-k3d.sh"));

        Assert.Equal(2, exitCode);
        Assert.Contains("littlelb-k3d.sh up", output, StringComparison.Ordinal);
    }

    private static IEnumerable<KeyValuePair<string, string>> UnitSettings() =>
        File.ReadAllLines(UnitPath)
            .Select(line => Setting().Match(line))
            .Where(match => match.Success)
            .Select(match => KeyValuePair.Create(match.Groups[1].Value, match.Groups[2].Value.Trim()));

    [GeneratedRegex(@"^([A-Za-z]+)=(.*)$")]
    private static partial Regex Setting();

    private static (int ExitCode, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException($"{program} did not finish in 60 s");
        }

        return (process.ExitCode, output.Result + error.Result);
    }
}

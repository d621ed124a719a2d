using System.Diagnostics;
using LoadBalancer.Infrastructure.Os;
using LoadBalancer.Infrastructure.Preflight;
using LoadBalancer.Infrastructure.Tests.Networking.Support;

namespace LoadBalancer.Infrastructure.Tests.Preflight;

public sealed class StartupPreflightTests
{
    private static readonly CapabilitySet AllNetworkCapabilities = new(
        (1UL << (int)LinuxCapability.NetAdmin) | (1UL << (int)LinuxCapability.NetRaw) | (1UL << (int)LinuxCapability.NetBindService));

    [RootFact]
    public void LinkDeviceMissing_NamesItAndListsTheDevicesThatExist()
    {
        using var space = NetworkNamespace.Create();
        space.Exec("ip link add pf-a type veth peer name pf-b");

        var report = space.Run(() => new StartupPreflight(new SystemPreflightHost()).Check(new PreflightRequest { LinkDevice = "eth9" }));

        // This test process is root with every capability, so the device is the only problem.
        var problem = Assert.Single(report.Problems);
        Assert.Equal("--link-device 'eth9': no such device; devices here: lo, pf-b, pf-a", problem.ToString());
        Assert.False(report.Passed);
    }

    [RootFact]
    public void LinkDeviceThatExists_Passes()
    {
        using var space = NetworkNamespace.Create();
        space.Exec("ip link add pf-a type veth peer name pf-b");

        var report = space.Run(() => new StartupPreflight(new SystemPreflightHost()).Check(new PreflightRequest { LinkDevice = "pf-a", Announce = true }));

        Assert.True(report.Passed, report.ToString());
    }

    [RootFact]
    public void AutoDetect_WithoutAnyUsableDevice_SaysWhyAndAsksForTheName()
    {
        using var space = NetworkNamespace.Create();

        var report = space.Run(() => new StartupPreflight(new SystemPreflightHost()).Check(new PreflightRequest { LinkDevice = PreflightRequest.AutoDetect }));

        var problem = Assert.Single(report.Problems);
        Assert.Equal("--link-device auto", problem.Subject);
        Assert.Contains("there is no default route", problem.Problem, StringComparison.Ordinal);
        Assert.Equal("name the device with --link-device; devices here: lo", problem.Fix);
    }

    [Fact]
    public void CapabilityDroppedFromARealProcess_IsReportedWithWhatItIsForAndHowToGrantIt()
    {
        var status = RunWithoutNetAdmin();
        var effective = CapabilitySet.FromStatus(status);
        Assert.NotNull(effective);
        Assert.False(effective.Value.Has(LinuxCapability.NetAdmin), status);

        var host = new FakeHost(effective, ["lo", "eth0"]);
        var report = new StartupPreflight(host).Check(new PreflightRequest { LinkDevice = "eth0", Announce = true, LowestPort = 80 });

        // Only the one capability that was dropped: the others are still in the set.
        var problem = Assert.Single(report.Problems);
        Assert.Equal("CAP_NET_ADMIN", problem.Subject);
        Assert.Equal("missing from the effective set, needed to add load-balancer addresses to the link device ('eth0')", problem.Problem);
        Assert.Contains("setcap cap_net_admin+ep", problem.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void NoCapabilities_EachNeededOneIsAProblem_NamingItsPurposeAndTheThreeWaysToGrantIt()
    {
        var host = new FakeHost(new CapabilitySet(0), ["lo", "eth0"]);

        var report = new StartupPreflight(host).Check(new PreflightRequest { LinkDevice = "eth0", Announce = true, LowestPort = 443 });

        Assert.Equal(["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"], report.Problems.Select(problem => problem.Subject));
        Assert.Contains("to add load-balancer addresses to the link device", report.Problems[0].Problem, StringComparison.Ordinal);
        Assert.Contains("to announce new addresses with gratuitous ARP", report.Problems[1].Problem, StringComparison.Ordinal);
        Assert.Contains("--no-announce", report.Problems[1].Problem, StringComparison.Ordinal);
        Assert.Contains("to listen on port 443, below 1024", report.Problems[2].Problem, StringComparison.Ordinal);
        foreach (var (problem, name) in report.Problems.Zip(["net_admin", "net_raw", "net_bind_service"]))
        {
            Assert.Contains($"`setcap cap_{name}+ep BINARY`", problem.Fix, StringComparison.Ordinal);
            Assert.Contains($"`AmbientCapabilities=CAP_{name.ToUpperInvariant()}`", problem.Fix, StringComparison.Ordinal);
            Assert.Contains($"securityContext.capabilities.add: [\"{name.ToUpperInvariant()}\"]", problem.Fix, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(null, false, null)]          // loopback only, no announcements, ports unknown: nothing needed
    [InlineData(null, true, 1024)]           // announcements without a link device do not happen; 1024 is unprivileged
    [InlineData(null, false, 80)]            // ip_unprivileged_port_start lowered to 80
    public void NothingNeeded_NoCapabilityIsAsked(string? device, bool announce, int? lowestPort)
    {
        var host = new FakeHost(new CapabilitySet(0), ["lo"], unprivilegedPortStart: lowestPort == 80 ? 80 : 1024);

        var report = new StartupPreflight(host).Check(new PreflightRequest { LinkDevice = device, Announce = announce, LowestPort = lowestPort });

        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void EveryProblemAtOnce_DeviceAndCapabilities()
    {
        var host = new FakeHost(new CapabilitySet(0), ["lo", "eth0", "br0"]);

        var report = new StartupPreflight(host).Check(new PreflightRequest { LinkDevice = "eth9", LowestPort = 80 });

        Assert.Equal(["--link-device 'eth9'", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"], report.Problems.Select(problem => problem.Subject));
        Assert.Equal(3, report.ToString().Split(Environment.NewLine).Length);
    }

    [Fact]
    public void AllCapabilitiesHeld_AndTheDeviceExists_Passes()
    {
        var report = new StartupPreflight(new FakeHost(AllNetworkCapabilities, ["lo", "eth0"]))
            .Check(new PreflightRequest { LinkDevice = "eth0", Announce = true, LowestPort = 80 });

        Assert.True(report.Passed, report.ToString());
    }

    /// <summary>/proc/self/status of a process started without CAP_NET_ADMIN in its bounding set (so not in its effective set either).</summary>
    private static string RunWithoutNetAdmin()
    {
        var start = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--bounding-set=-net_admin", "--inh-caps=-net_admin", "--", "cat", "/proc/self/status"])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start setpriv");
        using var stdout = process.StandardOutput;
        using var stderr = process.StandardError;
        var output = stdout.ReadToEndAsync();
        var error = stderr.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)), "setpriv did not finish");
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"setpriv exited with {process.ExitCode}: {error.GetAwaiter().GetResult()}");
        return output.GetAwaiter().GetResult();
    }

    private sealed class FakeHost(CapabilitySet? capabilities, IReadOnlyList<string> devices, int unprivilegedPortStart = 1024) : IPreflightHost
    {
        public CapabilitySet? EffectiveCapabilities() => capabilities;

        public DeviceListing ListDevices() => new(devices, null);

        public int UnprivilegedPortStart() => unprivilegedPortStart;
    }
}

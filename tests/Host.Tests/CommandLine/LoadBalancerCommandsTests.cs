using LoadBalancer.Host.CommandLine;
using LoadBalancer.Host.Standalone;
using LoadBalancer.Host.Tests.Support;
using LoadBalancer.Infrastructure.Forwarding;

namespace LoadBalancer.Host.Tests.CommandLine;

public sealed class LoadBalancerCommandsTests
{
    [Fact]
    public void ForwardOnly_OffersForwardAlone_WithTheSameOptionsAsTheFullCommandLine()
    {
        var run = new LoadBalancer.Host.Hosting.RunContext(TextWriter.Null, TextWriter.Null, LoadBalancer.Host.Hosting.HostSeams.None);
        var full = LoadBalancerCommands.Create(run).Subcommands.Single(command => command.Name == "forward");

        var only = LoadBalancerCommands.CreateForwardOnly(run);

        Assert.Equal(LoadBalancerCommands.Name, only.Name);
        Assert.Equal(["forward"], only.Subcommands.Select(command => command.Name));
        Assert.Equal(full.Options.Select(option => option.Name), only.Subcommands[0].Options.Select(option => option.Name));
    }

    [Fact]
    public async Task ForwardOnly_RefusesAnotherCommand()
    {
        using var error = new StringWriter();

        var exit = await LoadBalancerApp.RunForwardOnlyAsync(["standalone", "services.yaml"], TextWriter.Null, error, CancellationToken.None);

        Assert.Equal(LoadBalancerApp.UsageError, exit);
        Assert.Contains("standalone", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("standalone", "services.yaml")]
    [InlineData("--standalone", "services.yaml")]
    [InlineData("--standalone=services.yaml")]
    public void Standalone_EverySpelling_DefaultsToTheLoopbackPoolWithoutALinkDevice(params string[] args)
    {
        var settings = InProcess.Settings(args);

        Assert.Equal("127.0.100.0/24", settings.RestrictedCidr);
        Assert.Null(settings.LinkDevice);
        Assert.Equal(ForwardingEngine.IoUring, settings.ForwardingEngine);
    }

    [Fact]
    public void Standalone_WithFlags_ReachesTheSettings()
    {
        var settings = InProcess.Settings(["standalone", "f.yaml", "--restricted-cidr", "127.0.5.0/24", "--engine", "copy", "--policy", "least-connections"]);

        Assert.Equal("127.0.5.0/24", settings.RestrictedCidr);
        Assert.Equal(ForwardingEngine.Copy, settings.ForwardingEngine);
        Assert.Equal("least-connections", settings.BalancingPolicy);
    }

    [Theory]
    [InlineData("--link-device")]
    [InlineData("--linkdevice")]
    public void LinkDevice_AndTheOriginalsSpelling_SetTheDeviceAndTheAnnounceSwitch(string flag)
    {
        var loaded = InProcess.Configuration(["standalone", "services.yaml", "--restricted-cidr", "192.0.2.0/28", flag, "eth0", "--no-announce"]);

        Assert.Equal("eth0", loaded.Root["linkDevice"]);
        Assert.Equal($"flag {flag}", loaded.Source("linkDevice"));
        Assert.Equal("false", loaded.Root["announce"]);
    }

    [Fact]
    public void Standalone_StateFileAndClassFlags_ReachTheFileReading()
    {
        var settings = InProcess.Settings(["standalone", "services.yaml", "--state-file", "/tmp/llb.json", "--load-balancer-class", "littlelb.io/lb", "--ignore-unclassed"]);

        Assert.Equal("/tmp/llb.json", settings.StateFile);
        var reading = StandaloneMode.FileReading(settings);
        Assert.Equal("littlelb.io/lb", reading.LoadBalancerClass);
        Assert.False(reading.ServeUnclassed);
    }

    [Fact]
    public void Standalone_WithoutStateFileOrClassFlags_ServesUnclassedServices()
    {
        var settings = InProcess.Settings(["standalone", "services.yaml"]);

        Assert.Null(settings.StateFile);
        var reading = StandaloneMode.FileReading(settings);
        Assert.Null(reading.LoadBalancerClass);
        Assert.True(reading.ServeUnclassed);
    }

    [Fact]
    public void Standalone_WithoutFile_SaysAFileIsRequired()
    {
        Assert.Equal(["standalone: a FILE is required: loadbalancer standalone FILE (e.g. examples/standalone.yaml)"], InProcess.ParseErrors(["standalone"]));
    }

    [Fact]
    public void FlagOfAnotherCommand_IsRefusedNamingIt()
    {
        Assert.Contains("Unrecognized command or argument '--link-device'.",
            InProcess.ParseErrors(["forward", "--listen", "127.0.0.1:8080", "--backend", "127.0.0.1:9001", "--link-device", "eth0"]));
        Assert.Contains("Unrecognized command or argument '--state-file'.",
            InProcess.ParseErrors(["demo-backend", "--listen", "127.0.0.1:9001", "--state-file", "/tmp/x"]));
    }

    [Fact]
    public void Forward_WithAnUnknownProxyProtocolVersion_NamesTheFlagAndTheValue()
    {
        Assert.Equal(
            ["--proxy-protocol: 'v3' must be \"v1\" or \"v2\""],
            InProcess.ParseErrors(["forward", "--listen", "127.0.0.1:8080", "--backend", "127.0.0.1:9001", "--proxy-protocol", "v3"]));
    }

    [Fact]
    public void Forward_WithBadEndpoints_NamesEachFlagAndValue_AndWhatIsMissing()
    {
        Assert.Equal(
            [
                "--listen: '127.0.0.1' has no port; write 127.0.0.1:PORT",
                "--backend: '127.0.0.1:99999': port '99999' must be a number from 1 to 65535",
                "forward: exactly one --listen IP:PORT is required (0 given)",
                "forward: at least one --backend IP:PORT is required",
            ],
            InProcess.ParseErrors(["forward", "--listen", "127.0.0.1", "--backend", "127.0.0.1:99999"]));
    }

    [Fact]
    public void Forward_WithTwoListens_IsAnError()
    {
        Assert.Equal(["forward: exactly one --listen IP:PORT is required (2 given)"],
            InProcess.ParseErrors(["forward", "--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2", "--backend", "127.0.0.1:3"]));
    }

    [Fact]
    public void DemoBackend_WithoutListen_SaysOneIsRequired()
    {
        Assert.Equal(["demo-backend: at least one --listen IP:PORT (or --listen-udp IP:PORT) is required"], InProcess.ParseErrors(["demo-backend"]));
    }

    [Fact]
    public async Task BadFlagValues_AreReportedTogether_NamingKeyValueAndFlag_ExitTwo()
    {
        using var error = new StringWriter();

        var exitCode = await InProcess.RunAsync(
            ["forward", "--listen", "127.0.0.1:1", "--backend", "127.0.0.1:2", "--engine", "zero-copy", "--policy", "random", "--drain-timeout", "soon"],
            TextWriter.Null, error);

        Assert.Equal(2, exitCode);
        Assert.Equal(
            [
                "error: drainTimeout: 'soon' is not a duration (10s, 500ms, 2m, or seconds) (flag --drain-timeout)",
                "error: engine: 'zero-copy' must be io_uring, splice or copy (flag --engine)",
                $"error: policy: {Application.Forwarding.LoadBalancingPolicyNames.UnknownMessage("random")} (flag --policy)",
            ],
            error.ToString().Trim().ReplaceLineEndings("\n").Split('\n'));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a-name-longer-than-15")]
    [InlineData("eth 0")]
    public async Task LinkDeviceThatCannotBeADeviceName_IsRefusedNamingIt(string device)
    {
        using var error = new StringWriter();

        var exitCode = await InProcess.RunAsync(["check", $"--link-device={device}"], TextWriter.Null, error);

        Assert.Equal(1, exitCode);
        Assert.Contains($"error: linkDevice: '{device}' is not a Linux device name (1-15 characters, no spaces or '/') or \"auto\" (flag --link-device)",
            error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckPool_KeepsTheOriginalsDefaultPool()
    {
        Assert.Equal("192.168.0.224/28", InProcess.Settings(["check-pool"]).RestrictedCidr);
    }
}

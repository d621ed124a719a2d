using LoadBalancer.Host.Cluster;
using LoadBalancer.Host.CommandLine;

namespace LoadBalancer.Host.Tests.CommandLine;

public sealed class CommandLineParserTests
{
    [Fact]
    public void Parse_NoArguments_ShowsHelp()
    {
        var result = CommandLineParser.Parse([]);

        Assert.True(result.Succeeded);
        Assert.Equal(RunMode.Help, result.Options!.Mode);
    }

    [Fact]
    public void Parse_CheckPoolWithFlags_ReadsPoolAndExclusions()
    {
        var result = CommandLineParser.Parse(["check-pool", "--restricted-cidr", "10.0.0.0/24", "--exclude=10.0.0.7"]);

        Assert.True(result.Succeeded);
        Assert.Equal(new CommandLineOptions { Mode = RunMode.CheckPool, RestrictedCidr = "10.0.0.0/24", Exclude = "10.0.0.7" }, result.Options);
    }

    [Fact]
    public void Parse_NoPoolGiven_UsesTheOriginalsDefault()
    {
        var result = CommandLineParser.Parse(["check-pool"]);

        Assert.Equal("192.168.0.224/28", result.Options!.RestrictedCidr);
    }

    [Fact]
    public void Parse_SeveralMistakes_ReportsEveryOneNamingTheArgument()
    {
        var result = CommandLineParser.Parse(["--bogus", "frobnicate", "--restricted-cidr"]);

        Assert.False(result.Succeeded);
        Assert.Equal(
            ["unknown option '--bogus' (see --help)", "unknown command 'frobnicate' (see --help)", "option '--restricted-cidr' needs a value"],
            result.Errors);
    }

    [Fact]
    public void Parse_FlagFollowedByAnotherFlag_SaysTheValueIsMissing()
    {
        var result = CommandLineParser.Parse(["--restricted-cidr", "--exclude", "10.0.0.1"]);

        Assert.Contains("option '--restricted-cidr' needs a value", result.Errors);
    }

    [Fact]
    public void Parse_HelpWithOtherCommands_ShowsHelp()
    {
        Assert.Equal(RunMode.Help, CommandLineParser.Parse(["check-pool", "--help"]).Options!.Mode);
    }
}

public sealed class CommandLineParserModeTests
{
    [Theory]
    [InlineData("standalone", "services.yaml")]
    [InlineData("--standalone", "services.yaml")]
    [InlineData("--standalone=services.yaml")]
    public void Parse_Standalone_ReadsTheFileAndDefaultsToTheLoopbackPool(params string[] args)
    {
        var result = CommandLineParser.Parse(args);

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(RunMode.Standalone, result.Options!.Mode);
        Assert.Equal("services.yaml", result.Options.StandaloneFile);
        Assert.Equal("127.0.100.0/24", result.Options.RestrictedCidr);
        Assert.Equal(Infrastructure.Forwarding.ForwardingEngine.Splice, result.Options.Engine);
    }

    [Fact]
    public void Parse_StandaloneWithOptions_ReadsThem()
    {
        var result = CommandLineParser.Parse(["standalone", "f.yaml", "--restricted-cidr", "127.0.5.0/24", "--engine", "copy", "--policy", "least-connections"]);

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal("127.0.5.0/24", result.Options!.RestrictedCidr);
        Assert.Equal(Infrastructure.Forwarding.ForwardingEngine.Copy, result.Options.Engine);
        Assert.Equal("least-connections", result.Options.Policy);
    }

    [Fact]
    public void Parse_StandaloneWithLinkDevice_ReadsTheDeviceAndTheAnnounceSwitch()
    {
        var result = CommandLineParser.Parse(["standalone", "services.yaml", "--restricted-cidr", "192.0.2.0/28", "--link-device", "eth0", "--no-announce"]);

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal("eth0", result.Options!.LinkDevice);
        Assert.True(result.Options.NoAnnounce);
    }

    [Fact]
    public void Parse_StandaloneWithStateFileAndClassFlags_ReadsThemAndTheFileIsReadWithTheClassFlags()
    {
        var result = CommandLineParser.Parse(
            ["standalone", "services.yaml", "--state-file", "/tmp/llb.json", "--load-balancer-class", "littlelb.io/lb", "--ignore-unclassed"]);

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal("/tmp/llb.json", result.Options!.StateFile);
        var reading = Host.Standalone.StandaloneMode.FileReading(result.Options);
        Assert.Equal("littlelb.io/lb", reading.LoadBalancerClass);
        Assert.False(reading.ServeUnclassed);
    }

    [Fact]
    public void Parse_StandaloneWithoutStateFileOrClassFlags_TakesTheDefaultPlaceAndServesUnclassedServices()
    {
        var result = CommandLineParser.Parse(["standalone", "services.yaml"]);

        Assert.Null(result.Options!.StateFile);
        var reading = Host.Standalone.StandaloneMode.FileReading(result.Options);
        Assert.Null(reading.LoadBalancerClass);
        Assert.True(reading.ServeUnclassed);
    }

    [Fact]
    public void Parse_StateFileWithoutStandalone_SaysItBelongsToStandalone()
    {
        var result = CommandLineParser.Parse(["--kubeconfig", "k.yaml", "--state-file", "/tmp/llb.json"]);

        Assert.Equal(["option '--state-file' does not apply to cluster mode (no command); it is for standalone"], result.Errors);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a-name-longer-than-15")]
    [InlineData("eth 0")]
    public void Parse_LinkDeviceThatCannotBeADeviceName_IsRefusedNamingIt(string device)
    {
        var result = CommandLineParser.Parse(["standalone", "services.yaml", $"--link-device={device}"]);

        Assert.Equal([$"--link-device: '{device}' is not a Linux device name (1-15 characters, no spaces or '/') or \"auto\""], result.Errors);
    }

    [Fact]
    public void Parse_LinkDeviceWithForward_SaysItBelongsToStandalone()
    {
        var result = CommandLineParser.Parse(["forward", "--listen", "127.0.0.1:8080", "--backend", "127.0.0.1:9001", "--link-device", "eth0"]);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, problem => problem.Contains("--link-device", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_StandaloneWithoutFile_SaysAFileIsRequired()
    {
        var result = CommandLineParser.Parse(["standalone"]);

        Assert.Equal(["standalone: a FILE is required: loadbalancer standalone FILE (e.g. examples/standalone.yaml)"], result.Errors);
    }

    [Fact]
    public void Parse_Forward_ReadsListenBackendsAndFlags()
    {
        var result = CommandLineParser.Parse(
            ["forward", "--listen", "127.0.0.1:8080", "--backend", "127.0.0.1:9001", "--backend=[::1]:9002", "--policy", "source-hash", "--no-health-check"]);

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var options = result.Options!;
        Assert.Equal(RunMode.Forward, options.Mode);
        Assert.Equal("127.0.0.1:8080", Assert.Single(options.Listen).ToString());
        Assert.Equal(["127.0.0.1:9001", "[::1]:9002"], options.Backends.Select(backend => backend.ToString()));
        Assert.Equal("source-hash", options.Policy);
        Assert.True(options.NoHealthCheck);
    }

    [Fact]
    public void Parse_ForwardWithBadValues_NamesEachFlagAndValue()
    {
        var result = CommandLineParser.Parse(
            ["forward", "--listen", "127.0.0.1", "--backend", "127.0.0.1:99999", "--engine", "zero-copy", "--policy", "random"]);

        Assert.Equal(
            [
                "--listen: '127.0.0.1' has no port; write 127.0.0.1:PORT",
                "--backend: '127.0.0.1:99999': port '99999' must be a number from 1 to 65535",
                "--engine: 'zero-copy' must be splice or copy",
                $"--policy: {Application.Forwarding.LoadBalancingPolicyNames.UnknownMessage("random")}",
                "forward: exactly one --listen IP:PORT is required (0 given)",
                "forward: at least one --backend IP:PORT is required",
            ],
            result.Errors);
    }

    [Fact]
    public void Parse_ForwardWithTwoListens_IsAnError()
    {
        var result = CommandLineParser.Parse(["forward", "--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2", "--backend", "127.0.0.1:3"]);

        Assert.Equal(["forward: exactly one --listen IP:PORT is required (2 given)"], result.Errors);
    }

    [Fact]
    public void Parse_DemoBackend_TakesSeveralListens()
    {
        var result = CommandLineParser.Parse(["demo-backend", "--listen", "127.0.0.1:9001", "--listen", "127.0.0.1:9002"]);

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002"], result.Options!.Listen.Select(listen => listen.ToString()));
    }

    [Fact]
    public void Parse_FlagOfAnotherCommand_SaysWhereItBelongs()
    {
        var result = CommandLineParser.Parse(["demo-backend", "--listen", "127.0.0.1:9001", "--backend", "127.0.0.1:9002", "--exclude", "10.0.0.1"]);

        Assert.Equal(
            [
                "option '--backend' does not apply to demo-backend; it is for forward",
                "option '--exclude' does not apply to demo-backend; it is for check-pool, standalone, cluster mode (no command)",
            ],
            result.Errors);
    }

    [Fact]
    public void Parse_CheckPool_KeepsTheOriginalsDefaultPool()
    {
        Assert.Equal("192.168.0.224/28", CommandLineParser.Parse(["check-pool"]).Options!.RestrictedCidr);
    }
}

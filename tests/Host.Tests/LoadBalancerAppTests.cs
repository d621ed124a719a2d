using LoadBalancer.Host.Tests.Support;

namespace LoadBalancer.Host.Tests;

public sealed class LoadBalancerAppTests : IDisposable
{
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose()
    {
        _output.Dispose();
        _error.Dispose();
    }

    [Fact]
    public async Task Version_PrintsTheAssemblyVersion()
    {
        var exitCode = await InProcess.RunAsync(["--version"], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Equal("loadbalancer 0.1.0", _output.ToString().Trim());
    }

    [Fact]
    public async Task Help_PrintsUsageWithEveryOption()
    {
        var exitCode = await InProcess.RunAsync(["--help"], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Contains("loadbalancer [command] [options]", _output.ToString(), StringComparison.Ordinal);
        foreach (var flag in new[] { "--restricted-cidr", "--exclude", "--state-file", "--ignore-unclassed", "--config", "--debug", "--kubernetes", "--log-format", "--drain-timeout", "--linkdevice" })
        {
            Assert.Contains(flag, _output.ToString(), StringComparison.Ordinal);
        }

        foreach (var command in new[] { "standalone", "forward", "demo-backend", "check-pool", "config", "check" })
        {
            Assert.Contains($"  {command}", _output.ToString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("standalone", "--state-file")]
    [InlineData("forward", "--backend")]
    [InlineData("demo-backend", "--listen")]
    [InlineData("check-pool", "--restricted-cidr")]
    [InlineData("config", "--standalone")]
    [InlineData("check", "FILE")]
    public async Task Help_PerCommand_ShowsThatCommandsUsageAndFlags(string command, string flag)
    {
        var exitCode = await InProcess.RunAsync([command, "--help"], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Contains($"loadbalancer {command}", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains(flag, _output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckPool_DefaultPool_PrintsSizeAndFirstAddresses()
    {
        var exitCode = await InProcess.RunAsync(["check-pool"], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Equal(
            "pool: 192.168.0.224/28\nallocatable addresses: 14\nfirst addresses: 192.168.0.225, 192.168.0.226, 192.168.0.227, 192.168.0.228",
            _output.ToString().Trim().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task CheckPool_BadPool_ReportsEveryEntryWithItsSourceAndExitsWithUsageError()
    {
        var exitCode = await InProcess.RunAsync(["check-pool", "--restricted-cidr", "10.0.0.5/24,300.1.1.1"], _output, _error);

        Assert.Equal(2, exitCode);
        var errors = _error.ToString().Trim().ReplaceLineEndings("\n").Split('\n');
        Assert.Equal(
            [
                "error: restrictedCidr: '10.0.0.5/24' is not a CIDR, range or address: host bits are set; the network is 10.0.0.0/24 (flag --restricted-cidr)",
                "error: restrictedCidr: '300.1.1.1' is not a CIDR, range or address: invalid IP address: 300.1.1.1 (flag --restricted-cidr)",
            ],
            errors);
        Assert.Empty(_output.ToString());
    }

    [Fact]
    public async Task UnknownOption_ExitsWithUsageErrorNamingIt()
    {
        var exitCode = await InProcess.RunAsync(["--frobnicate"], _output, _error);

        Assert.Equal(2, exitCode);
        Assert.Equal("error: Unrecognized command or argument '--frobnicate'.", _error.ToString().Trim());
    }
}

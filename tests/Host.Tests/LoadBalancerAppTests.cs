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
        var exitCode = await LoadBalancerApp.RunAsync(["--version"], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Equal("loadbalancer 0.1.0", _output.ToString().Trim());
    }

    [Fact]
    public async Task Help_PrintsUsageWithEveryOption()
    {
        var exitCode = await LoadBalancerApp.RunAsync(["--help"], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.StartsWith("Usage: loadbalancer", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("--restricted-cidr", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("--exclude", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("--state-file", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("--ignore-unclassed", _output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckPool_DefaultPool_PrintsSizeAndFirstAddresses()
    {
        var exitCode = await LoadBalancerApp.RunAsync(["check-pool"], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Equal(
            "pool: 192.168.0.224/28\nallocatable addresses: 14\nfirst addresses: 192.168.0.225, 192.168.0.226, 192.168.0.227, 192.168.0.228",
            _output.ToString().Trim().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task CheckPool_BadPool_ReportsEveryEntryAndExitsWithUsageError()
    {
        var exitCode = await LoadBalancerApp.RunAsync(["check-pool", "--restricted-cidr", "10.0.0.5/24,300.1.1.1"], _output, _error);

        Assert.Equal(2, exitCode);
        var errors = _error.ToString().Trim().ReplaceLineEndings("\n").Split('\n');
        Assert.Equal(
            [
                "error: --restricted-cidr/--exclude: pool entry '10.0.0.5/24': host bits are set; the network is 10.0.0.0/24",
                "error: --restricted-cidr/--exclude: pool entry '300.1.1.1': invalid IP address: 300.1.1.1",
            ],
            errors);
        Assert.Empty(_output.ToString());
    }

    [Fact]
    public async Task UnknownOption_ExitsWithUsageError()
    {
        var exitCode = await LoadBalancerApp.RunAsync(["--frobnicate"], _output, _error);

        Assert.Equal(2, exitCode);
        Assert.Equal("error: unknown option '--frobnicate' (see --help)", _error.ToString().Trim());
    }
}

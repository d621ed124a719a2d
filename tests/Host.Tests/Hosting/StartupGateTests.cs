using LoadBalancer.Host.Tests.Standalone;
using LoadBalancer.Host.Tests.Support;
using LoadBalancer.Infrastructure.Tests.Networking.Support;

namespace LoadBalancer.Host.Tests.Hosting;

/// <summary>
/// A serving mode that cannot work says so at start and exits 1, naming the fix, instead of starting and failing every
/// Service: a link device that does not exist, a capability the process does not hold.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class StartupGateTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("llb-gate-");
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose()
    {
        _directory.Delete(recursive: true);
        _output.Dispose();
        _error.Dispose();
    }

    [Fact]
    public async Task Standalone_LinkDeviceThatDoesNotExist_ExitsOne_ListingTheDevicesThere()
    {
        var exitCode = await InProcess.RunAsync(
            ["standalone", ServicesFile(), "--link-device", "llb-nodev0", "--restricted-cidr", "192.0.2.0/29", "--state-file", StateFile()],
            _output, _error, InProcess.Seams(TextWriter.Null));

        Assert.Equal(1, exitCode);
        var error = _error.ToString();
        Assert.Contains("error: --link-device 'llb-nodev0': no such device; devices here: ", error, StringComparison.Ordinal);
        Assert.Contains("lo", error, StringComparison.Ordinal);
        Assert.DoesNotContain("state:", _output.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Root, because only root can give a capability away for a child (setpriv drops it from the bounding set).</summary>
    [RootFact]
    public async Task Standalone_WithoutCapNetAdmin_ExitsOne_NamingTheCapabilityAndHowToGrantIt()
    {
        using var daemon = DaemonProcess.StartUnder(
            ["setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--"],
            DaemonProcess.WithoutConfigurationVariables,
            "standalone", ServicesFile(), "--link-device", "lo", "--restricted-cidr", "192.0.2.0/29", "--state-file", StateFile());

        Assert.Equal(1, await daemon.ExitCodeAsync(Limit));
        var error = daemon.Error.ToString();
        Assert.Contains("CAP_NET_ADMIN", error, StringComparison.Ordinal);
        Assert.Contains("AmbientCapabilities", error, StringComparison.Ordinal);
        Assert.DoesNotContain("CAP_NET_RAW", error, StringComparison.Ordinal);
    }

    private string ServicesFile()
    {
        var path = Path.Combine(_directory.FullName, "services.yaml");
        File.WriteAllText(path, """
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              annotations:
                littlelb.io/backends: "127.0.0.1:9001"
            spec:
              type: LoadBalancer
              ports:
                - port: 8080
            """);
        return path;
    }

    private string StateFile() => Path.Combine(_directory.FullName, "state.json");
}

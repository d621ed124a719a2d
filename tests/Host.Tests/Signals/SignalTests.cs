using LoadBalancer.Host.Tests.Standalone;
using static LoadBalancer.Host.Tests.Standalone.Manifests;

namespace LoadBalancer.Host.Tests.Signals;

/// <summary>
/// The real daemon as a child process in standalone mode, signalled as an init system or a terminal signals it:
/// SIGTERM drains, releases and exits 0; SIGHUP reloads (or refuses) and never kills; SIGUSR1 dumps the state.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class SignalTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("llb-signals-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task Sigterm_DrainsReleasesTheAddressAndExitsZero()
    {
        var (backend, port) = (Net.FreePort("127.0.0.93"), Net.FreePort("127.0.0.1"));
        await using var backends = await DemoBackends.StartAsync($"127.0.0.93:{backend}");
        using var daemon = Start("127.0.100.248/29", port, backend, "drainTimeout: 2s\n");
        var ip = await daemon.IpOfAsync("default/web", port, Limit);
        Assert.Equal($"hello from 127.0.0.93:{backend}", await Net.GetAsync(ip, port));

        daemon.Signal("TERM");

        Assert.Equal(0, await daemon.ExitCodeAsync(Limit));
        Assert.Null(await Net.GetAsync(ip, port));
        // In 127/8 the loopback device answers without an address; what the stand-down releases is the listener.
        Assert.True(await daemon.LoggedAsync("Stood down", Limit), daemon.ToString());
    }

    [Fact]
    public async Task Sighup_ReloadsAValidFile_RefusesAnInvalidOne_NeverKills_AndSigusr1DumpsTheState()
    {
        var (backend, port) = (Net.FreePort("127.0.0.94"), Net.FreePort("127.0.0.1"));
        await using var backends = await DemoBackends.StartAsync($"127.0.0.94:{backend}");
        using var daemon = Start("127.0.101.248/29", port, backend, "drainTimeout: 1s\n");
        var ip = await daemon.IpOfAsync("default/web", port, Limit);
        Assert.True(await daemon.LoggedAsync("SIGHUP was ignored when the daemon started (nohup, or a parent that ignores it); it is handled from now on", Limit), daemon.ToString());
        Assert.True(await daemon.LoggedAsync("SIGUSR1 was ignored when the daemon started", Limit), daemon.ToString());

        await File.WriteAllTextAsync(Config, "drainTimeout: 2s\n");
        daemon.Signal("HUP");
        Assert.True(await daemon.LoggedAsync("configuration reloaded: 1 keys changed (drainTimeout)", Limit), daemon.ToString());
        Assert.True(await daemon.LoggedAsync("changed keys that take effect only at the next start: drainTimeout", Limit), daemon.ToString());

        await File.WriteAllTextAsync(Config, "drainTimeout: 2s\nengine: zero-copy\n");
        daemon.Signal("HUP");
        Assert.True(await daemon.LoggedAsync($"reload refused, the running configuration is kept (1 problems): engine: 'zero-copy' must be io_uring, splice or copy (file {Config}:2)", Limit), daemon.ToString());

        // Pools apply while serving: a new named pool is taken; one overlapping the pool in use is refused, and the old
        // pools stay.
        await File.WriteAllTextAsync(Config, "drainTimeout: 2s\npools:\n  - name: extra\n    addresses: [127.0.102.0/30]\n");
        daemon.Signal("HUP");
        Assert.True(await daemon.LoggedAsync("configuration reloaded: 2 keys changed (pools:0:addresses:0, pools:0:name)", Limit), daemon.ToString());
        await File.WriteAllTextAsync(Config, "drainTimeout: 2s\npools:\n  - name: extra\n    addresses: [127.0.101.248/30]\n");
        daemon.Signal("HUP");
        Assert.True(await daemon.LoggedAsync("reload refused, the running configuration is kept (1 problems): pools[0]: pool 'extra' and pool 'default' (restrictedCidr) both hold", Limit), daemon.ToString());

        daemon.Signal("USR1");
        Assert.True(await daemon.LoggedAsync("SIGUSR1 state: state at ", Limit), daemon.ToString());
        Assert.True(await daemon.LoggedAsync("SIGUSR1 state: pool default 127.0.101.248/29: 1 used", Limit), daemon.ToString());
        Assert.True(await daemon.LoggedAsync("SIGUSR1 state: pool extra 127.0.102.0/30: 0 used, 2 free of 2", Limit), daemon.ToString());
        Assert.True(await daemon.LoggedAsync($"SIGUSR1 state: default/web  {ip}  served", Limit), daemon.ToString());
        Assert.True(await daemon.LoggedAsync($"TCP/{port}  1 backends  open 0", Limit), daemon.ToString());
        Assert.True(await daemon.LoggedAsync($"127.0.0.94:{backend}  healthy", Limit), daemon.ToString());

        Assert.False(daemon.HasExited, daemon.ToString());
        Assert.Equal($"hello from 127.0.0.94:{backend}", await Net.GetAsync(ip, port));
        daemon.Signal("TERM");
        Assert.Equal(0, await daemon.ExitCodeAsync(Limit));
    }

    private string Config => Path.Combine(_directory.FullName, "config.yaml");

    private DaemonProcess Start(string pool, int port, int backend, string configuration)
    {
        var file = Path.Combine(_directory.FullName, "services.yaml");
        File.WriteAllText(file, Service("web", port, $"127.0.0.9{(pool.StartsWith("127.0.100.", StringComparison.Ordinal) ? 3 : 4)}:{backend}"));
        File.WriteAllText(Config, configuration);
        // Started as nohup starts it, SIGHUP and SIGUSR1 ignored: the daemon handles them all the same (and says so).
        return DaemonProcess.StartUnder(["env", "--ignore-signal=HUP", "--ignore-signal=USR1"], DaemonProcess.WithoutConfigurationVariables, "standalone", file, "--state-file", Path.Combine(_directory.FullName, "state.json"),
            "--config", Config, "--restricted-cidr", pool);
    }
}

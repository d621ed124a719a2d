using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Tests.Support;

namespace LoadBalancer.Host.Tests.Configuration;

/// <summary>defaults &lt; file &lt; environment &lt; flags, one test per pair, and where the file is found.</summary>
public sealed class ConfigurationLayersTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("llb-config-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void Default_WithNothingElse_IsTheValue_FromDefault()
    {
        var loaded = InProcess.Configuration(["check"]);

        Assert.Equal(("10s", "default"), Value(loaded, Settings.DrainTimeout));
    }

    [Fact]
    public void File_BeatsDefault()
    {
        var file = Write("config.yaml", "drainTimeout: 3s\n");

        Assert.Equal(("3s", $"file {file}:1"), Value(InProcess.Configuration(["check", "--config", file]), Settings.DrainTimeout));
    }

    [Fact]
    public void Environment_BeatsDefault()
    {
        var loaded = InProcess.Configuration(["check"], Env(("LITTLELB_DRAINTIMEOUT", "4s")));

        Assert.Equal(("4s", "env LITTLELB_DRAINTIMEOUT"), Value(loaded, Settings.DrainTimeout));
    }

    [Fact]
    public void Flag_BeatsDefault()
    {
        Assert.Equal(("5s", "flag --drain-timeout"), Value(InProcess.Configuration(["check", "--drain-timeout", "5s"]), Settings.DrainTimeout));
    }

    [Fact]
    public void Environment_BeatsFile()
    {
        var file = Write("config.yaml", "restrictedCidr: 10.0.0.0/24\n");

        var loaded = InProcess.Configuration(["check", "--config", file], Env(("RESTRICTED_CIDR", "10.1.0.0/24")));

        Assert.Equal(("10.1.0.0/24", "env RESTRICTED_CIDR"), Value(loaded, Settings.RestrictedCidr));
    }

    [Fact]
    public void Flag_BeatsFile()
    {
        var file = Write("config.json", """{ "linkDevice": "eth0" }""");

        var loaded = InProcess.Configuration(["check", "--config", file, "--linkdevice", "br0"]);

        Assert.Equal(("br0", "flag --linkdevice"), Value(loaded, Settings.LinkDevice));
    }

    [Fact]
    public void Flag_BeatsEnvironment()
    {
        var loaded = InProcess.Configuration(["check", "--engine", "copy"], Env(("LITTLELB_ENGINE", "splice")));

        Assert.Equal(("copy", "flag --engine"), Value(loaded, Settings.Engine));
    }

    [Theory]
    [InlineData("KUBECONFIG", "/etc/k3s.yaml", Settings.Kubeconfig)]
    [InlineData("KUBERNETES", "true", Settings.Kubernetes)]
    [InlineData("LINK_DEVICE", "br0", Settings.LinkDevice)]
    [InlineData("LINKDEVICE", "br0", Settings.LinkDevice)]
    [InlineData("RESTRICTED_CIDR", "192.0.2.0/28", Settings.RestrictedCidr)]
    [InlineData("TAG_WORKER_NODES", "true", Settings.TagWorkerNodes)]
    [InlineData("DEBUG", "true", Settings.Debug)]
    [InlineData("POD_NAMESPACE", "lb", Settings.LeaderElectionNamespace)]
    [InlineData("POD_NAME", "llb-0", Settings.LeaderElectionIdentity)]
    public void OriginalEnvironmentName_SetsItsKey(string variable, string value, string key)
    {
        Assert.Equal((value, $"env {variable}"), Value(InProcess.Configuration(["check"], Env((variable, value))), key));
    }

    [Fact]
    public void OurEnvironmentName_BeatsTheOriginal()
    {
        var loaded = InProcess.Configuration(["check"], Env(("RESTRICTED_CIDR", "10.0.0.0/24"), ("LITTLELB_RESTRICTEDCIDR", "10.9.0.0/24")));

        Assert.Equal(("10.9.0.0/24", "env LITTLELB_RESTRICTEDCIDR"), Value(loaded, Settings.RestrictedCidr));
    }

    [Fact]
    public void Debug_FromTheOriginalsVariable_RaisesTheLogLevel()
    {
        Assert.True(InProcess.Settings(["check"], Env(("DEBUG", "1"))).IsDebug);
        Assert.False(InProcess.Settings(["check"]).IsDebug);
    }

    [Fact]
    public void NestedKeys_FromOurEnvironment_UseDoubleUnderscores()
    {
        var loaded = InProcess.Configuration(["check"], Env(("LITTLELB_LEADERELECTION__ENABLED", "false")));

        Assert.Equal(("false", "env LITTLELB_LEADERELECTION__ENABLED"), Value(loaded, Settings.LeaderElectionEnabled));
    }

    [Fact]
    public void Discovery_AutoConfigFileName_ComesFirst_ThenTheSystemDirectory_ThenHome_ThenTheWorkingDirectory()
    {
        var locations = Locations();
        var working = Write("cwd/config.json", """{ "engine": "copy" }""");
        Assert.Equal(working, ConfigurationLayers.Load(Inputs(locations)).File);

        var home = Write("home/.config/little-load-balancer/config.json", """{ "engine": "copy" }""");
        Assert.Equal(home, ConfigurationLayers.Load(Inputs(locations)).File);
        var homeYaml = Write("home/.config/little-load-balancer/config.yaml", "engine: copy\n");
        Assert.Equal(homeYaml, ConfigurationLayers.Load(Inputs(locations)).File);

        var systemJson = Write("etc/config.json", """{ "engine": "copy" }""");
        Assert.Equal(systemJson, ConfigurationLayers.Load(Inputs(locations)).File);
        var system = Write("etc/config.yaml", "engine: copy\n");
        Assert.Equal(system, ConfigurationLayers.Load(Inputs(locations)).File);

        var auto = Write("auto.yaml", "engine: copy\n");
        Assert.Equal(auto, ConfigurationLayers.Load(Inputs(locations, Env(("AUTOCFG_FILENAME", auto)))).File);

        var named = Write("named.yaml", "engine: copy\n");
        Assert.Equal(named, ConfigurationLayers.Load(Inputs(locations, Env(("AUTOCFG_FILENAME", auto), ("LITTLELB_CONFIG", named)))).File);
    }

    [Fact]
    public void Discovery_NoFileAnywhere_SaysWhereItLooked()
    {
        var loaded = ConfigurationLayers.Load(Inputs(Locations()));

        Assert.Null(loaded.File);
        Assert.StartsWith($"none of {Path.Combine(_directory.FullName, "etc", "config.yaml")}", loaded.FileReason, StringComparison.Ordinal);
    }

    [Fact]
    public void NamedFileThatDoesNotExist_IsAnErrorNamingItAndTheFlag()
    {
        var missing = Path.Combine(_directory.FullName, "missing.yaml");

        var failure = Assert.Throws<ConfigurationFileException>(() => InProcess.Configuration(["check", "--config", missing]));

        Assert.Equal($"{missing}: does not exist (flag --config)", failure.Message);
    }

    [Fact]
    public void YamlFile_NestedKeysAndLists_BindWithTheirLines()
    {
        var file = Write("config.yaml", """
            # a comment
            leaderElection:
              enabled: false
              name: llb
            pools:
              - name: lan
                addresses: [192.168.1.240/28]
            """);

        var loaded = InProcess.Configuration(["check", "--config", file]);

        Assert.Equal(("false", $"file {file}:3"), Value(loaded, Settings.LeaderElectionEnabled));
        Assert.Equal(("llb", $"file {file}:4"), Value(loaded, Settings.LeaderElectionName));
        Assert.Equal("192.168.1.240/28", loaded.Root["pools:0:addresses:0"]);
    }

    [Fact]
    public void YamlFile_ThatIsNotYaml_IsAnErrorWithTheLine()
    {
        var file = Write("config.yaml", "engine: copy\npolicy: [unclosed\n");

        var failure = Assert.Throws<ConfigurationFileException>(() => InProcess.Configuration(["check", "--config", file]));

        Assert.StartsWith($"{file}: line ", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NamedPools_WithoutRestrictedCidr_LeaveNoDefaultPoolDefault()
    {
        var file = Write("config.yaml", "pools:\n  - name: lan\n    addresses: [192.168.1.240/28]\n");

        Assert.Null(InProcess.Configuration(["check", "--config", file]).Root[Settings.RestrictedCidr]);
        Assert.Equal("192.168.0.224/28", InProcess.Configuration(["check"]).Root[Settings.RestrictedCidr]);
    }

    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("7", 7_000)]
    [InlineData("00:00:03", 3_000)]
    public void Durations_TakeUnitsSecondsOrTimeSpanText(string text, int milliseconds)
    {
        Assert.True(ConfigurationLayers.TryParseDuration(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    private static (string? Value, string? Source) Value(LoadedConfiguration loaded, string key) => (loaded.Root[key], loaded.Source(key));

    private static Dictionary<string, string?> Env(params (string Name, string Value)[] variables) =>
        variables.ToDictionary(variable => variable.Name, variable => (string?)variable.Value);

    private ConfigurationFileLocations Locations() => new()
    {
        SystemDirectory = Path.Combine(_directory.FullName, "etc"),
        HomeDirectory = Path.Combine(_directory.FullName, "home"),
        WorkingDirectory = Path.Combine(_directory.FullName, "cwd"),
    };

    private static ConfigurationInputs Inputs(ConfigurationFileLocations locations, Dictionary<string, string?>? environment = null) =>
        new() { Locations = locations, Environment = environment ?? [] };

    private string Write(string relative, string text)
    {
        var path = Path.Combine(_directory.FullName, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }
}

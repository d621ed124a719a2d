using LoadBalancer.Host.Cluster;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Tests.Support;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;

namespace LoadBalancer.Host.Tests.Cluster;

public sealed class ClusterCommandLineTests
{
    [Fact]
    public void TheOriginalsFlagsWithoutACommand_ConfigureTheClusterMode()
    {
        var loaded = InProcess.Configuration(["--kubeconfig", "/etc/k3s.yaml", "--restricted-cidr", "192.0.2.64/28", "--link-device", "eth1"]);
        var settings = DaemonSettings.From(loaded.Root);

        Assert.Equal("true", loaded.Root[Settings.Kubernetes]);
        Assert.Equal("/etc/k3s.yaml", settings.Kubeconfig);
        Assert.Equal("192.0.2.64/28", settings.RestrictedCidr);
        Assert.Equal("eth1", settings.LinkDeviceOptions(deviceIsDefault: loaded.IsDefault(Settings.LinkDevice))!.DeviceName);
    }

    [Fact]
    public void Adapter_ClusterFlags_ReachTheAdapterOptions()
    {
        var settings = InProcess.Settings([
            "--kubeconfig=k.yaml", "--load-balancer-class", "littlelb.io/lb", "--ignore-unclassed", "--backends", "endpoints",
            "--worker-selector", "pool=edge", "--node-address-types", "ExternalIP,InternalIP", "--tag-worker-nodes", "--set-external-ips",
            "--lease-namespace", "lb", "--lease-name", "llb", "--lease-identity", "node-a", "--policy", "least-connections",
        ]);

        var options = ClusterSettings.Adapter(settings);

        Assert.Equal("littlelb.io/lb", options.Services.LoadBalancerClass);
        Assert.False(options.Services.ServeUnclassed);
        Assert.Equal(BackendMode.Endpoints, options.Services.Backends);
        Assert.Equal("pool=edge", options.Services.WorkerSelector);
        Assert.Equal(["ExternalIP", "InternalIP"], options.Services.AddressTypes);
        Assert.Equal("least-connections", options.Services.DefaultPolicy);
        Assert.True(options.WorkerNodes.Tag);
        Assert.Equal(("pool", "edge"), (options.WorkerNodes.LabelKey, options.WorkerNodes.LabelValue));
        Assert.True(options.Status.SetExternalIps);
        Assert.True(options.LeaderElection.Enabled);
        Assert.Equal(("lb", "llb", "node-a"), (options.LeaderElection.Namespace, options.LeaderElection.Name, options.LeaderElection.Identity));
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Adapter_Defaults_AreTheOriginals_NodePortsOutsideAPod_AndLeaderElectionOn()
    {
        var options = ClusterSettings.Adapter(InProcess.Settings(["--kubeconfig", "k.yaml"]));

        Assert.Equal(BackendMode.NodePorts, options.Services.Backends);
        Assert.True(options.Services.ServeUnclassed);
        Assert.Null(options.Services.LoadBalancerClass);
        Assert.Equal("node-role.kubernetes.io/worker", options.Services.WorkerSelector);
        Assert.True(options.LeaderElection.Enabled);
        Assert.False(options.Status.SetExternalIps);
    }

    [Theory]
    [InlineData(null, "node-role.kubernetes.io/worker", "")]
    [InlineData("pool", "pool", "")]
    [InlineData("pool==edge", "pool", "edge")]
    [InlineData("pool=edge,zone=a", "node-role.kubernetes.io/worker", "")]
    [InlineData("!pool", "node-role.kubernetes.io/worker", "")]
    [InlineData("pool!=edge", "node-role.kubernetes.io/worker", "")]
    public void Adapter_TagWorkerNodes_WritesTheLabelTheWorkerSelectorAsksFor_WhenItAsksForOne(string? selector, string key, string value)
    {
        string[] flags = ["--kubeconfig", "k.yaml", "--tag-worker-nodes"];
        var options = ClusterSettings.Adapter(InProcess.Settings(selector is null ? flags : [.. flags, "--worker-selector", selector]));

        Assert.Equal((key, value), (options.WorkerNodes.LabelKey, options.WorkerNodes.LabelValue));
    }

    [Fact]
    public void Adapter_PodNamespaceAndPodName_AreTheLeasesNamespaceAndIdentity()
    {
        var options = ClusterSettings.Adapter(InProcess.Settings([], new Dictionary<string, string?> { ["POD_NAMESPACE"] = "lb-system", ["POD_NAME"] = "llb-0" }));

        Assert.Equal(("lb-system", "llb-0"), (options.LeaderElection.Namespace, options.LeaderElection.Identity));
    }

    [Fact]
    public void LinkDevice_LoopbackPoolWithTheDefaultDevice_KeepsTheLoopbackDevice_OtherPoolsDetectOne()
    {
        var loopback = InProcess.Configuration(["--kubeconfig", "k", "--restricted-cidr", "127.0.120.0/24"]);
        var dualStackLoopback = InProcess.Configuration(["--kubeconfig", "k", "--restricted-cidr", "127.0.120.0/24, ::1/128"]);
        var other = InProcess.Configuration(["--kubeconfig", "k", "--restricted-cidr", "192.0.2.0/28"]);
        var otherIPv6 = InProcess.Configuration(["--kubeconfig", "k", "--restricted-cidr", "127.0.120.0/24, 2001:db8::/120"]);

        Assert.Null(DaemonSettings.From(loopback.Root).LinkDeviceOptions(loopback.IsDefault(Settings.LinkDevice)));
        Assert.Null(DaemonSettings.From(dualStackLoopback.Root).LinkDeviceOptions(dualStackLoopback.IsDefault(Settings.LinkDevice)));
        Assert.Null(DaemonSettings.From(other.Root).LinkDeviceOptions(other.IsDefault(Settings.LinkDevice))!.DeviceName);
        Assert.Null(DaemonSettings.From(otherIPv6.Root).LinkDeviceOptions(otherIPv6.IsDefault(Settings.LinkDevice))!.DeviceName);
    }

    [Theory]
    [InlineData("--backends", "pods", "error: backends: 'pods' must be nodeports or endpoints (flag --backends)")]
    [InlineData("--node-address-types", "Hostname", "error: nodeAddressTypes: 'Hostname' must list InternalIP, ExternalIP (comma-separated) (flag --node-address-types)")]
    public async Task BadClusterFlag_NamesTheKeyTheValueAndTheFlag_ExitTwo(string flag, string value, string error)
    {
        using var errors = new StringWriter();

        var code = await InProcess.RunAsync(["--kubeconfig", "k.yaml", flag, value], TextWriter.Null, errors);

        Assert.Equal(2, code);
        Assert.Equal(error, errors.ToString().Trim());
    }

    [Fact]
    public void ForwardsFlag_WithoutACommand_IsRefused()
    {
        Assert.Contains("Unrecognized command or argument '--listen'.", InProcess.ParseErrors(["--kubeconfig", "k.yaml", "--listen", "127.0.0.1:80"]));
    }

    [Fact]
    public async Task MissingKubeconfig_FailsTheStartWithExitOne_NamingTheFileAndTheFlag()
    {
        using var error = new StringWriter();

        var code = await InProcess.RunAsync(["--kubeconfig", "/nonexistent/kubeconfig.yaml", "--restricted-cidr", "127.0.119.0/29"], TextWriter.Null, error);

        Assert.Equal(1, code);
        Assert.StartsWith("error: kubeconfig: cannot use '/nonexistent/kubeconfig.yaml' (flag --kubeconfig): ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidKubeconfigFromTheEnvironment_FailsTheStartNamingTheVariable()
    {
        var file = Path.Combine(Path.GetTempPath(), $"llb-kubeconfig-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "this: [is not a kubeconfig");
        try
        {
            using var error = new StringWriter();
            var code = await InProcess.RunAsync(["--restricted-cidr", "127.0.119.0/29"], TextWriter.Null, error,
                seams: InProcess.Seams(TextWriter.Null, new Dictionary<string, string?> { ["KUBECONFIG"] = file }));

            Assert.Equal(1, code);
            Assert.StartsWith($"error: kubeconfig: cannot use '{file}' (env KUBECONFIG): ", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

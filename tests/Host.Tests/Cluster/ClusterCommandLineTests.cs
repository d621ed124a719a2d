using LoadBalancer.Host.Cluster;
using LoadBalancer.Host.CommandLine;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;

namespace LoadBalancer.Host.Tests.Cluster;

public sealed class ClusterCommandLineTests
{
    [Fact]
    public void Parse_TheOriginalsFlagsWithoutACommand_RunTheClusterMode()
    {
        var result = CommandLineParser.Parse(["--kubeconfig", "/etc/k3s.yaml", "--restricted-cidr", "192.0.2.64/28", "--link-device", "eth1"]);

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(RunMode.Cluster, result.Options!.Mode);
        Assert.Equal("/etc/k3s.yaml", result.Options.Cluster.Kubeconfig);
        Assert.Equal("192.0.2.64/28", result.Options.RestrictedCidr);
        Assert.Equal("eth1", ClusterSettings.LinkDevice(result.Options)!.DeviceName);
    }

    [Fact]
    public void From_ClusterFlags_ReachTheAdapterOptions()
    {
        var parsed = CommandLineParser.Parse([
            "--kubeconfig=k.yaml", "--load-balancer-class", "littlelb.io/lb", "--ignore-unclassed", "--backends", "endpoints",
            "--worker-selector", "pool=edge", "--node-address-types", "ExternalIP,InternalIP", "--tag-worker-nodes", "--set-external-ips",
            "--lease-namespace", "lb", "--lease-name", "llb", "--lease-identity", "node-a", "--policy", "least-connections",
        ]);
        Assert.True(parsed.Succeeded, string.Join("; ", parsed.Errors));

        var options = ClusterSettings.From(parsed.Options!);

        Assert.Equal("littlelb.io/lb", options.Services.LoadBalancerClass);
        Assert.False(options.Services.ServeUnclassed);
        Assert.Equal(BackendMode.Endpoints, options.Services.Backends);
        Assert.Equal("pool=edge", options.Services.WorkerSelector);
        Assert.Equal(["ExternalIP", "InternalIP"], options.Services.AddressTypes);
        Assert.Equal("least-connections", options.Services.DefaultPolicy);
        Assert.True(options.WorkerNodes.Tag);
        Assert.True(options.Status.SetExternalIps);
        Assert.True(options.LeaderElection.Enabled);
        Assert.Equal(("lb", "llb", "node-a"), (options.LeaderElection.Namespace, options.LeaderElection.Name, options.LeaderElection.Identity));
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void From_Defaults_AreTheOriginals_NodePortsOutsideAPod_AndLeaderElectionOn()
    {
        var options = ClusterSettings.From(CommandLineParser.Parse(["--kubeconfig", "k.yaml"]).Options!);

        Assert.Equal(BackendMode.NodePorts, options.Services.Backends);
        Assert.True(options.Services.ServeUnclassed);
        Assert.Null(options.Services.LoadBalancerClass);
        Assert.Equal("node-role.kubernetes.io/worker", options.Services.WorkerSelector);
        Assert.True(options.LeaderElection.Enabled);
        Assert.False(options.Status.SetExternalIps);
    }

    [Fact]
    public void LinkDevice_LoopbackPoolWithoutADevice_KeepsTheLoopbackDevice_OtherPoolsDetectOne()
    {
        Assert.Null(ClusterSettings.LinkDevice(CommandLineParser.Parse(["--kubeconfig", "k", "--restricted-cidr", "127.0.120.0/24"]).Options!));
        Assert.Null(ClusterSettings.LinkDevice(CommandLineParser.Parse(["--kubeconfig", "k", "--restricted-cidr", "192.0.2.0/28"]).Options!)!.DeviceName);
    }

    [Theory]
    [InlineData("--backends", "pods", "--backends: 'pods' must be nodeports or endpoints")]
    [InlineData("--node-address-types", "Hostname", "--node-address-types: 'Hostname' must list InternalIP, ExternalIP (comma-separated)")]
    [InlineData("--listen", "127.0.0.1:80", "option '--listen' does not apply to cluster mode (no command); it is for forward, demo-backend")]
    public void Parse_BadClusterFlag_NamesTheFlagAndTheValue(string flag, string value, string error)
    {
        var result = CommandLineParser.Parse(["--kubeconfig", "k.yaml", flag, value]);

        Assert.False(result.Succeeded);
        Assert.Equal([error], result.Errors);
    }

    [Fact]
    public async Task Run_MissingKubeconfig_ExitsWithAnErrorNamingTheFile()
    {
        var error = new StringWriter();

        var code = await LoadBalancerApp.RunAsync(["--kubeconfig", "/nonexistent/kubeconfig.yaml", "--restricted-cidr", "127.0.119.0/29"], new StringWriter(), error);

        Assert.Equal(ClusterMode.ConfigError, code);
        Assert.Contains("--kubeconfig: cannot use '/nonexistent/kubeconfig.yaml'", error.ToString(), StringComparison.Ordinal);
    }
}

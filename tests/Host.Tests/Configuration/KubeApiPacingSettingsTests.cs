using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Tests.Support;
using LoadBalancer.Infrastructure.Kubernetes.Pacing;

namespace LoadBalancer.Host.Tests.Configuration;

/// <summary>kubeApiQps and kubeApiBurst through every layer, and their mistakes named.</summary>
public sealed class KubeApiPacingSettingsTests
{
    [Fact]
    public void Default_IsFiveHundredAThousand()
    {
        var loaded = InProcess.Configuration(["check"]);

        Assert.Equal(("500", "1000"), (loaded.Root[Settings.KubeApiQps], loaded.Root[Settings.KubeApiBurst]));
        Assert.Equal(new KubernetesApiPacingOptions { Qps = 500, Burst = 1000 }, InProcess.Settings(["check"]).ApiPacing());
    }

    [Fact]
    public void Flags_SetBoth()
    {
        var settings = InProcess.Settings(["check", "--kube-api-qps", "50.5", "--kube-api-burst", "100"]);

        Assert.Equal(new KubernetesApiPacingOptions { Qps = 50.5, Burst = 100 }, settings.ApiPacing());
    }

    [Fact]
    public void Environment_SetsBoth()
    {
        var settings = InProcess.Settings(["check"], new Dictionary<string, string?> { ["LITTLELB_KUBEAPIQPS"] = "200", ["LITTLELB_KUBEAPIBURST"] = "400" });

        Assert.Equal(new KubernetesApiPacingOptions { Qps = 200, Burst = 400 }, settings.ApiPacing());
    }

    [Theory]
    [InlineData("--kube-api-qps", "fast", "kubeApiQps: 'fast' must be a number of requests per second above 0 (e.g. 500 or 0.5) (flag --kube-api-qps)")]
    [InlineData("--kube-api-qps", "0", "kubeApiQps: '0' must be a number of requests per second above 0 (e.g. 500 or 0.5) (flag --kube-api-qps)")]
    [InlineData("--kube-api-qps", "-5", "kubeApiQps: '-5' must be a number of requests per second above 0 (e.g. 500 or 0.5) (flag --kube-api-qps)")]
    [InlineData("--kube-api-qps", "Infinity", "kubeApiQps: 'Infinity' must be a number of requests per second above 0 (e.g. 500 or 0.5) (flag --kube-api-qps)")]
    [InlineData("--kube-api-burst", "0", "kubeApiBurst: '0' must be a whole number of requests, at least 1 (flag --kube-api-burst)")]
    [InlineData("--kube-api-burst", "1.5", "kubeApiBurst: '1.5' must be a whole number of requests, at least 1 (flag --kube-api-burst)")]
    public void BadValue_NamesTheKeyTheQuotedValueAndTheFlag(string flag, string value, string problem)
    {
        var loaded = InProcess.Configuration(["check", flag, value]);

        var problems = new DaemonSettingsValidator(loaded).Problems(DaemonSettings.From(loaded.Root));

        Assert.Equal([problem], problems);
    }

    [Fact]
    public void BadValueInTheEnvironment_NamesTheVariable()
    {
        var loaded = InProcess.Configuration(["check"], new Dictionary<string, string?> { ["LITTLELB_KUBEAPIBURST"] = "lots" });

        var problems = new DaemonSettingsValidator(loaded).Problems(DaemonSettings.From(loaded.Root));

        Assert.Equal(["kubeApiBurst: 'lots' must be a whole number of requests, at least 1 (env LITTLELB_KUBEAPIBURST)"], problems);
    }
}

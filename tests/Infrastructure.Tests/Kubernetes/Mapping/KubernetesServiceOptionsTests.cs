using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping;

public sealed class KubernetesServiceOptionsTests
{
    [Fact]
    public void Defaults_AreTheOriginalsAndValid()
    {
        var options = new KubernetesServiceOptions();

        Assert.Null(options.LoadBalancerClass);
        Assert.True(options.ServeUnclassed);
        Assert.Equal(BackendMode.NodePorts, options.Backends);
        Assert.Equal("node-role.kubernetes.io/worker", options.WorkerSelector);
        Assert.Equal(["InternalIP", "ExternalIP"], options.AddressTypes);
        Assert.Equal(LoadBalancingPolicyNames.Default, options.DefaultPolicy);
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Validate_ReportsEveryProblemNamingOptionAndValue()
    {
        var options = new KubernetesServiceOptions
        {
            LoadBalancerClass = " ",
            Backends = (BackendMode)7,
            WorkerSelector = "a,,b",
            AddressTypes = [],
            DefaultPolicy = "random",
        };

        Assert.Equal(
            [
                "LoadBalancerClass: ' ' is blank; leave it unset for no class",
                "Backends: '7' must be NodePorts or Endpoints",
                "WorkerSelector: label selector 'a,,b': an empty requirement (two commas, or one at an end)",
                "AddressTypes: '' must list one or more node address types, e.g. InternalIP,ExternalIP",
                "DefaultPolicy: unknown balancing policy 'random'; known policies: round-robin, least-connections, power-of-two, source-hash",
            ],
            options.Validate());
    }
}

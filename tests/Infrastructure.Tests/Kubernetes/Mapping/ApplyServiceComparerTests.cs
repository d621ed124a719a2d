using System.Net;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping;

public sealed class ApplyServiceComparerTests
{
    /// <summary>A new command with new lists each time, as a second mapping of the same Service gives.</summary>
    private static ApplyService Command(string backend = "10.0.0.1", int port = 80, string policy = LoadBalancingPolicyNames.Default, string? ip = null) =>
        new(new ServiceSpec("shop", "web", [new ServicePortSpec("TCP", port, "http")], ip),
            [new PortBackends(ServicePort.Tcp(port), [new Endpoint(IPAddress.Parse(backend), 30080, "w1")])])
        {
            Policy = policy,
            HealthCheck = HealthCheckSettings.Default with { Interval = TimeSpan.FromSeconds(2), Timeout = TimeSpan.FromSeconds(1) },
        };

    [Fact]
    public void SameCommand_EqualContentInNewLists_IsTrue()
    {
        var first = Command();
        var second = Command();

        Assert.NotEqual(first, second);
        Assert.True(ApplyServiceComparer.SameCommand(first, second));
        Assert.True(ApplyServiceComparer.Instance.Equals(first, second));
        Assert.Equal(ApplyServiceComparer.Instance.GetHashCode(first), ApplyServiceComparer.Instance.GetHashCode(second));
    }

    [Fact]
    public void SameCommand_AnyDifference_IsFalse()
    {
        var reference = Command();

        Assert.False(ApplyServiceComparer.SameCommand(reference, Command(backend: "10.0.0.2")));
        Assert.False(ApplyServiceComparer.SameCommand(reference, Command(port: 81)));
        Assert.False(ApplyServiceComparer.SameCommand(reference, Command(policy: LoadBalancingPolicyNames.SourceHash)));
        Assert.False(ApplyServiceComparer.SameCommand(reference, Command(ip: "192.168.1.240")));
        Assert.False(ApplyServiceComparer.SameCommand(reference, Command() with { HealthCheck = HealthCheckSettings.Default }));
        Assert.False(ApplyServiceComparer.SameCommand(reference, Command() with { Backends = [] }));
        Assert.False(ApplyServiceComparer.SameCommand(reference, null));
        Assert.True(ApplyServiceComparer.SameCommand(null, null));
    }
}

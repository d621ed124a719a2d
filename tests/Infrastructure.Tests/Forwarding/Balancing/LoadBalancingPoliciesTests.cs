using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Balancing;

public sealed class LoadBalancingPoliciesTests
{
    public static TheoryData<string> KnownNames => [.. LoadBalancingPolicyNames.All];

    [Theory]
    [MemberData(nameof(KnownNames))]
    public void TryCreate_KnownName_CreatesThePolicyOfThatName(string name)
    {
        Assert.True(LoadBalancingPolicies.TryCreate(name, out var policy));
        Assert.Equal(name, policy.Name);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("random")]
    [InlineData("RoundRobin")]
    [InlineData(" round-robin")]
    public void TryCreate_UnknownName_IsFalse(string? name)
    {
        Assert.False(LoadBalancingPolicies.TryCreate(name, out var policy));
        Assert.Null(policy);
    }

    [Fact]
    public void TryCreate_TwoListeners_GetTheirOwnInstances()
    {
        // Round-robin keeps a turn counter: two listeners sharing one would skew each other.
        LoadBalancingPolicies.TryCreate(LoadBalancingPolicyNames.RoundRobin, out var first);
        LoadBalancingPolicies.TryCreate(LoadBalancingPolicyNames.RoundRobin, out var second);

        Assert.NotSame(first, second);
    }

    [Theory]
    [MemberData(nameof(KnownNames))]
    public void Pick_AnyPolicy_AllocatesNothing(string name)
    {
        LoadBalancingPolicies.TryCreate(name, out var policy);
        var backends = TestBackends.Many(5);
        backends[1].WithActive(2);
        IPEndPoint[] clients = [new(IPAddress.Parse("192.0.2.1"), 5000), new(IPAddress.Parse("2001:db8::1"), 5000), new(IPAddress.Parse("::ffff:192.0.2.2"), 5000)];
        foreach (var client in clients)
        {
            policy!.Pick(backends, client);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var pick = 0; pick < 1_000; pick++)
        {
            policy!.Pick(backends, clients[pick % clients.Length]);
            policy.Pick(backends, null);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

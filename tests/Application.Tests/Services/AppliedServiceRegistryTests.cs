using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Tests.Services;

public sealed class AppliedServiceRegistryTests : IDisposable
{
    private static readonly IPAddress First = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress Second = IPAddress.Parse("192.0.2.11");
    private static readonly IPAddress SecondV6 = IPAddress.Parse("2001:db8::11");

    private readonly AppliedServiceRegistry _registry = new();

    [Fact]
    public void IsIpHeld_NothingApplied_IsFalse()
    {
        Assert.False(_registry.IsIpHeld(First));
    }

    [Fact]
    public void IsIpHeld_SharedIp_StaysHeldUntilItsLastServiceGoes()
    {
        _registry.Put(Applied("a", First));
        _registry.Put(Applied("b", First));

        _registry.Remove(new ServiceKey("default", "a"));
        Assert.True(_registry.IsIpHeld(First));

        _registry.Remove(new ServiceKey("default", "b"));
        Assert.False(_registry.IsIpHeld(First));
    }

    [Fact]
    public void IsIpHeld_Except_CountsOnlyTheOthers()
    {
        _registry.Put(Applied("a", First));
        Assert.False(_registry.IsIpHeld(First, except: new ServiceKey("default", "a")));
        Assert.True(_registry.IsIpHeld(First, except: new ServiceKey("default", "other")));

        _registry.Put(Applied("b", First));
        Assert.True(_registry.IsIpHeld(First, except: new ServiceKey("default", "a")));
    }

    [Fact]
    public void Put_ServiceMovesToAnotherIp_TheOldIpIsNoLongerHeld()
    {
        _registry.Put(Applied("a", First));
        _registry.Put(Applied("a", Second, SecondV6));

        Assert.False(_registry.IsIpHeld(First));
        Assert.True(_registry.IsIpHeld(Second));
        Assert.True(_registry.IsIpHeld(SecondV6));
    }

    [Fact]
    public void Remove_UnknownService_ChangesNothing()
    {
        _registry.Put(Applied("a", First));
        _registry.Remove(new ServiceKey("default", "unknown"));

        Assert.True(_registry.IsIpHeld(First));
        Assert.Single(_registry.All());
    }

    [Fact]
    public void IsIpHeld_ManyServicesOnOneIp_MatchesAWalkOverEveryService()
    {
        var random = new Random(15);
        var ips = new[] { First, Second, SecondV6 };
        for (var step = 0; step < 500; step++)
        {
            var name = $"s{random.Next(40)}";
            if (random.Next(3) == 0)
            {
                _registry.Remove(new ServiceKey("default", name));
            }
            else
            {
                _registry.Put(Applied(name, ips[random.Next(ips.Length)]));
            }

            foreach (var ip in ips)
            {
                Assert.Equal(_registry.All().Any(service => service.Ips.Contains(ip)), _registry.IsIpHeld(ip));
            }
        }
    }

    public void Dispose() => _registry.Dispose();

    private static AppliedService Applied(string name, IPAddress ip, params IPAddress[] more) =>
        new(ServiceFakes.Spec(name, null, 80), ip, [], LoadBalancingPolicyNames.Default, HealthCheckSettings.Default) { Ips = [ip, .. more] };
}

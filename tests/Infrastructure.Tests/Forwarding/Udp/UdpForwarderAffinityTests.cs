using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Udp;

/// <summary><c>sessionAffinity: ClientIP</c> on a UDP listener: a client address's new flows (other source ports) follow its first one.</summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class UdpForwarderAffinityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task FlowsFromOneClientAddress_GoToOneBackend_OnlyWithAffinity(bool affinity)
    {
        await using var first = UdpBackend.Named(120);
        await using var second = UdpBackend.Named(121);
        await using var forwarder = UdpTests.Create(output);
        var binding = UdpTests.NextBinding();
        var spec = UdpTests.Spec(binding, [first.Endpoint, second.Endpoint], LoadBalancingPolicyNames.RoundRobin)
            with { AffinityTimeout = affinity ? TimeSpan.FromMinutes(10) : null };
        await forwarder.ApplySucceedsAsync(spec);

        var backends = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var client = UdpTests.Client(IPAddress.Parse("127.0.0.142"));
            var answer = await client.AskAsync(binding, $"flow {i}", Answer);
            Assert.NotNull(answer);
            backends.Add(answer[..answer.IndexOf(": flow", StringComparison.Ordinal)]);
        }

        Assert.Equal(6, forwarder.Statistics(binding).Listener.ConnectionsOpened);
        Assert.Equal(affinity ? 1 : 2, backends.Distinct().Count());
    }
}

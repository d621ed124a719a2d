using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Udp;

/// <summary>
/// loadBalancerSourceRanges on a UDP listener: clients bind to 127.0.0.140 or 127.0.0.141 before they send, so the
/// socket filter sees two different sources on loopback.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class UdpForwarderSourceRangeTests(ITestOutputHelper output)
{
    private static readonly IPAddress Allowed = IPAddress.Parse("127.0.0.140");
    private static readonly IPAddress Other = IPAddress.Parse("127.0.0.141");
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Dropped = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task AllowedSource_IsAnswered_DatagramsOfAnotherSource_NeverReachTheBackend()
    {
        await using var backend = UdpBackend.Named(122);
        await using var forwarder = UdpTests.Create(output);
        var binding = UdpTests.NextBinding();
        await forwarder.ApplySucceedsAsync(UdpTests.Spec(binding, [backend.Endpoint]) with { SourceRanges = [IpCidr.Parse("127.0.0.140/32")] });
        using var inside = UdpTests.Client(Allowed);
        using var outside = UdpTests.Client(Other);

        Assert.Equal($"hello from {backend.EndPoint}: in", await inside.AskAsync(binding, "in", Answer));
        for (var i = 0; i < 5; i++)
        {
            Assert.Null(await outside.AskAsync(binding, $"out {i}", Dropped / 5));
        }

        Assert.Equal(1, backend.Received);
        var listener = forwarder.Statistics(binding).Listener;
        Assert.Equal(1, listener.ConnectionsOpened);
        Assert.Equal(1, listener.DatagramsFromClient);

        // The kernel's filter dropped them before the socket's queue: the loop never saw them.
        Assert.Equal(0, listener.RefusedBySourceRange);
        Assert.Equal(0, listener.DatagramsDropped);
    }

    [Fact]
    public async Task RangesChanged_ApplyToNewClients_AndRemovingThemLetsEveryoneIn()
    {
        await using var backend = UdpBackend.Named(122);
        await using var forwarder = UdpTests.Create(output);
        var binding = UdpTests.NextBinding();
        var spec = UdpTests.Spec(binding, [backend.Endpoint]);
        await forwarder.ApplySucceedsAsync(spec with { SourceRanges = [IpCidr.Parse("127.0.0.140/32")] });
        using var first = UdpTests.Client(Allowed);
        using var second = UdpTests.Client(Other);
        Assert.NotNull(await first.AskAsync(binding, "a", Answer));
        Assert.Null(await second.AskAsync(binding, "b", Dropped));

        await forwarder.ApplySucceedsAsync(spec with { SourceRanges = [IpCidr.Parse("127.0.0.141/32")] });
        Assert.NotNull(await second.AskAsync(binding, "c", Answer));
        using var newcomer = UdpTests.Client(Allowed);
        Assert.Null(await newcomer.AskAsync(binding, "d", Dropped));

        await forwarder.ApplySucceedsAsync(spec);
        Assert.NotNull(await newcomer.AskAsync(binding, "e", Answer));
    }
}

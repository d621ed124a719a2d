using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Application.Services.RemoveStaleAddresses;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Tests.Networking.Support;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Host.Tests.Networking;

/// <summary>
/// The composed daemon on a real device in a namespace: reference counting of a shared address and the clean-up of
/// addresses a crash left behind, through the mediator, the Service use case and the rtnetlink device. The forwarder
/// is one that listens nowhere: the addresses live in another namespace, and the test is about the link device alone.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class LinkDeviceCompositionTests
{
    private const string Device = "llb-host";

    [RootFact]
    public async Task SharedAddress_StaysUntilItsLastServiceGoes_AndStaleAddressesOfThePoolAreRemoved()
    {
        var (left, right) = NetworkNamespace.CreateVethPair(Device, "llb-peer", "192.0.2.1/24", "192.0.2.2/24");
        using var leftSpace = left;
        using var rightSpace = right;
        left.Exec($"ip addr add 192.0.2.70/24 dev {Device}"); // in the pool, wanted by nobody: a crash's leftover
        await using var provider = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IForwarder, ListeningNowhere>()
            .AddLoadBalancer(
                new AllocationOptions { Pool = "192.0.2.64/28" },
                linkDevice: new LinkDeviceOptions { DeviceName = Device },
                announcements: new AnnouncementOptions { Enabled = false })
            .BuildServiceProvider();
        _ = left.Run(() => provider.GetRequiredService<ILinkDevice>()); // its netlink sockets belong to the namespace
        var mediator = provider.GetRequiredService<IMediator>();

        foreach (var (name, port) in new[] { ("dns-a", 53), ("dns-b", 54), ("dns-c", 55) })
        {
            var applied = await mediator.Send(new ApplyService(new ServiceSpec("default", name, [new ServicePortSpec("UDP", port)]), []));
            Assert.True(applied.Failure is null, applied.Failure);
            Assert.Equal("192.0.2.65", applied.Applied!.Ip.ToString());
        }

        Assert.Equal(["192.0.2.1", "192.0.2.65", "192.0.2.70"], Addresses(left));

        var stale = await mediator.Send(new RemoveStaleAddresses());
        Assert.Equal(["192.0.2.70"], stale.Removed.Select(address => address.ToString()));
        Assert.Equal(["192.0.2.1", "192.0.2.65"], Addresses(left));

        await mediator.Send(new RemoveService("default", "dns-a"));
        await mediator.Send(new RemoveService("default", "dns-b"));
        Assert.Equal(["192.0.2.1", "192.0.2.65"], Addresses(left));

        await mediator.Send(new RemoveService("default", "dns-c"));
        Assert.Equal(["192.0.2.1"], Addresses(left));
    }

    /// <summary>Takes every listener and opens no socket.</summary>
    private sealed class ListeningNowhere : IForwarder
    {
        public ValueTask<ForwarderResult> ApplyAsync(ListenerSpec listener, CancellationToken cancellationToken) => ValueTask.FromResult(ForwarderResult.Success);

        public ValueTask StopAsync(LoadBalancer.Domain.Addressing.PortBinding binding, TimeSpan drainTimeout, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<Task> DetachAsync(LoadBalancer.Domain.Addressing.PortBinding binding, TimeSpan drainTimeout, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Task.CompletedTask);
    }

    private static string[] Addresses(NetworkNamespace space) =>
        [.. space.Exec($"ip -4 -o addr show dev {Device}")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3].Split('/')[0])
            .Order(StringComparer.Ordinal)];
}

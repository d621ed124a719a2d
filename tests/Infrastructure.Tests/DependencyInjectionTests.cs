using LoadBalancer.Application.Abstractions;
using LoadBalancer.Infrastructure.Events;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Loopback;
using LoadBalancer.Infrastructure.Networking.Netlink;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Infrastructure.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public void AddInfrastructure_RegistersTheStandaloneAdaptersAsSingletons()
    {
        using var provider = new ServiceCollection().AddLogging().AddInfrastructure()
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        Assert.IsType<LoopbackLinkDevice>(provider.GetRequiredService<ILinkDevice>());
        Assert.IsType<LoggingEventRecorder>(provider.GetRequiredService<IEventRecorder>());
        Assert.Same(provider.GetRequiredService<ILinkDevice>(), provider.GetRequiredService<ILinkDevice>());
    }

    [Fact]
    public void AddInfrastructure_KeepsALinkDeviceRegisteredBeforeIt()
    {
        var fake = NSubstitute.Substitute.For<ILinkDevice>();
        using var provider = new ServiceCollection().AddLogging().AddSingleton(fake).AddInfrastructure().BuildServiceProvider();

        Assert.Same(fake, provider.GetRequiredService<ILinkDevice>());
    }

    [Networking.Support.RootFact]
    public void AddInfrastructure_WithALinkDevice_RegistersTheNetlinkDeviceWithTheAnnouncer()
    {
        using var space = Networking.Support.NetworkNamespace.Create();
        space.Exec("ip link add llb-di type veth peer name llb-di-peer");
        using var provider = new ServiceCollection().AddLogging()
            .AddInfrastructure(linkDevice: new LinkDeviceOptions { DeviceName = "llb-di" }, announcements: new AnnouncementOptions { Enabled = false })
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        // Resolved inside the namespace: the device's netlink socket belongs where it is created.
        var device = space.Run(() => provider.GetRequiredService<ILinkDevice>());

        Assert.IsType<NetlinkLinkDevice>(device);
        Assert.Equal("llb-di", device.Name);
        Assert.IsType<NoAnnouncer>(provider.GetRequiredService<IAddressAnnouncer>());
    }
}

using LoadBalancer.Application.Abstractions;
using LoadBalancer.Infrastructure.Events;
using LoadBalancer.Infrastructure.Networking.Loopback;
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
}

using System.Diagnostics.Metrics;
using System.Net;
using k8s;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Infrastructure.Events;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Events;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Infrastructure.Kubernetes.Source;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using LoadBalancer.Infrastructure.Networking;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Loopback;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Standalone;
using LoadBalancer.Infrastructure.Standalone.State;
using LoadBalancer.Infrastructure.Tests.Support;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using NSubstitute;

namespace LoadBalancer.Infrastructure.Tests;

public sealed class DependencyInjectionTests : IDisposable
{
    private static readonly ServiceProviderOptions Strict = new() { ValidateOnBuild = true, ValidateScopes = true };

    // Never asked anything: resolving the adapters must not talk to the cluster.
    private readonly k8s.Kubernetes _client = new(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });

    /// <summary>What AddApplication and the Host's generated mediator register, as far as the adapters need it.</summary>
    private readonly ILeadership _soleLeadership = Substitute.For<ILeadership>();

    public void Dispose() => _client.Dispose();

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
    public async Task AddInfrastructure_TheLinkDeviceReportsToTheInstrumentsTheExporterCreates()
    {
        // The forwarder's statistics come from AddApplication; the forwarding instruments read them.
        using var provider = new ServiceCollection().AddLogging().AddSingleton(Substitute.For<IForwarderStatistics>()).AddInfrastructure()
            .BuildServiceProvider(Strict);
        using var held = new MetricCollector<int>(provider.GetRequiredService<IMeterFactory>(), LoadBalancerMeter.Name, "littlelb.link.addresses");

        var instruments = provider.GetServices<IMetricsInstrumentation>().ToList();
        await provider.GetRequiredService<ILinkDevice>().AddAddressAsync(IPAddress.Parse("127.0.10.5"), CancellationToken.None);
        held.RecordObservableInstruments();

        Assert.Contains(instruments, instrumentation => instrumentation is LinkMetrics);
        Assert.Equal(["1 device=lo"], held.GetMeasurementSnapshot().Select(measurement => measurement.Describe()));
    }

    [Fact]
    public void AddInfrastructure_KeepsALinkDeviceRegisteredBeforeIt()
    {
        var fake = Substitute.For<ILinkDevice>();
        using var provider = new ServiceCollection().AddLogging().AddSingleton(fake).AddInfrastructure().BuildServiceProvider();

        Assert.Same(fake, provider.GetRequiredService<ILinkDevice>());
    }

    [Fact]
    public void AddKubernetesAdapter_ResolvesTheClusterSource_StatusWriterAndEventRecorder_OnSharedInformers()
    {
        using var provider = Application().AddInfrastructure()
            .AddKubernetesAdapter(_client, new KubernetesAdapterOptions { LeaderElection = new LeaderElectionOptions { Enabled = false } })
            .BuildServiceProvider(Strict);

        Assert.IsType<KubernetesServiceSource>(provider.GetRequiredService<IServiceSource>());
        Assert.IsType<KubernetesStatusWriter>(provider.GetRequiredService<IServiceStatusWriter>());
        Assert.IsType<KubernetesEventRecorder>(Assert.Single(provider.GetServices<IEventRecorder>()));
        Assert.Same(provider.GetRequiredService<IServiceSource>(), provider.GetRequiredService<IServiceSource>());
        Assert.Same(provider.GetRequiredService<IResourceInformer<V1Node>>(), provider.GetRequiredService<IResourceInformer<V1Node>>());
    }

    [Fact]
    public void AddKubernetesAdapter_WithoutLeaderElection_KeepsTheApplicationsLeadership_AndTagsNoNodes()
    {
        using var provider = Application().AddInfrastructure()
            .AddKubernetesAdapter(_client, new KubernetesAdapterOptions { LeaderElection = new LeaderElectionOptions { Enabled = false } })
            .BuildServiceProvider(Strict);

        Assert.Same(_soleLeadership, Assert.Single(provider.GetServices<ILeadership>()));
        Assert.Empty(provider.GetServices<IHostedService>());
    }

    [Fact]
    public void AddKubernetesAdapter_WithLeaderElection_ReplacesTheLeadershipByTheLease()
    {
        using var provider = Application().AddInfrastructure()
            .AddKubernetesAdapter(_client, new KubernetesAdapterOptions())
            .BuildServiceProvider(Strict);

        Assert.IsType<LeaseElector>(Assert.Single(provider.GetServices<ILeadership>()));
    }

    [Fact]
    public void AddKubernetesAdapter_WithWorkerNodeTagging_RunsTheTaggingAsAHostedService()
    {
        using var provider = Application().AddInfrastructure()
            .AddKubernetesAdapter(_client, new KubernetesAdapterOptions { WorkerNodes = new WorkerNodeOptions { Tag = true } })
            .BuildServiceProvider(Strict);

        Assert.IsType<WorkerNodeTagging>(Assert.Single(provider.GetServices<IHostedService>()));
    }

    [Fact]
    public void AddStandaloneAdapter_ResolvesTheFileSource_TheStateFileAsStatusWriter_AndLogEvents()
    {
        var state = new StandaloneStateOptions { Path = Path.Combine(Path.GetTempPath(), $"littlelb-di-{Guid.NewGuid():N}", "state.json") };
        using var provider = Application().AddInfrastructure()
            .AddStandaloneAdapter(new StandaloneOptions { File = "/etc/littlelb/services.yaml" }, state, new StandaloneConsole(TextWriter.Null, TextWriter.Null))
            .BuildServiceProvider(Strict);

        var source = Assert.IsType<StandaloneServiceSource>(provider.GetRequiredService<IServiceSource>());
        Assert.Same(provider.GetRequiredService<StandaloneServiceSource>(), source);
        var writer = Assert.IsType<StandaloneStateFile>(Assert.Single(provider.GetServices<IServiceStatusWriter>()));
        Assert.Same(provider.GetRequiredService<IStandaloneState>(), writer);
        Assert.Equal(state.Path, writer.Path);
        Assert.IsType<LoggingEventRecorder>(Assert.Single(provider.GetServices<IEventRecorder>()));
        Assert.Same(_soleLeadership, Assert.Single(provider.GetServices<ILeadership>()));
        Assert.IsType<StandaloneReport>(Assert.Single(provider.GetServices<IHostedService>()));
    }

    /// <summary>
    /// Substitutes for what AddApplication and the generated mediator register, in the order the Host adds them
    /// (Application, then Infrastructure, then the adapter).
    /// </summary>
    private IServiceCollection Application() => new ServiceCollection()
        .AddLogging()
        .AddSingleton(Substitute.For<IReconcileQueue>())
        .AddSingleton(Substitute.For<IServiceReconciler>())
        .AddSingleton(Substitute.For<ISender>())
        .AddSingleton(_soleLeadership);

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

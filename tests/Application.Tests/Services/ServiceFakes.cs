using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Allocation.GetAllocations;
using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Services.GetAppliedServices;
using LoadBalancer.Application.Services.RemoveStaleAddresses;
using LoadBalancer.Application.Tests.Support;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Options;
using ApplyCommand = LoadBalancer.Application.Services.ApplyService.ApplyService;
using RemoveCommand = LoadBalancer.Application.Services.RemoveService.RemoveService;
using NSubstitute;

namespace LoadBalancer.Application.Tests.Services;

/// <summary>
/// The ports of the Service use case as NSubstitute fakes that succeed by default, around a real allocator, so a test
/// can make one step fail and look at what is left.
/// </summary>
internal sealed class ServiceFakes : IDisposable
{
    public static readonly TimeSpan Drain = TimeSpan.FromSeconds(3);

    public ServiceFakes(string pool = "192.168.0.224/28")
    {
        Allocations = TestData.Registry(pool);
        Sender = new HandlerSender()
            .Handle(new AllocateLoadBalancerIpHandler(Allocations, new AllocationMetrics(Meters, Allocations), AllocateLog), new AllocateLoadBalancerIpValidator())
            .Handle(new ReleaseLoadBalancerIpHandler(Allocations, new CapturingLogger<ReleaseLoadBalancerIpHandler>()), new ReleaseLoadBalancerIpValidator())
            .Handle(new RestoreAllocationsHandler(Allocations, new RestoredServiceValidator(), new CapturingLogger<RestoreAllocationsHandler>()),
                new RestoreAllocationsValidator())
            .Handle(new GetAllocationsHandler(Allocations), new GetAllocationsValidator())
            .Handle(new GetAppliedServicesHandler(Applied))
            .Handle(new RemoveStaleAddressesHandler(Allocations, Applied, Link, new CapturingLogger<RemoveStaleAddressesHandler>()));
        Sender.Handle(ApplyHandler(), new ApplyServiceValidator()).Handle(RemoveHandler(), new RemoveServiceValidator());
        Forwarder.ApplyAsync(default!, default).ReturnsForAnyArgs(ForwarderResult.Success);
        Forwarder.DetachAsync(default!, default, default).ReturnsForAnyArgs(Task.CompletedTask);
        Link.Name.Returns("eth-test");
        Link.AddAddressAsync(default!, default).ReturnsForAnyArgs(LinkOperationResult.Success);
        Link.RemoveAddressAsync(default!, default).ReturnsForAnyArgs(LinkOperationResult.Success);
#pragma warning disable CA2012 // NSubstitute's arrangement: the call only names the method whose result is set.
        Link.ListAddressesAsync(default).ReturnsForAnyArgs(_ => ValueTask.FromResult<IReadOnlyList<IPAddress>>([]));
#pragma warning restore CA2012
    }

    public AllocationRegistry Allocations { get; }

    /// <summary>The real handlers of every command and query, behind the real validation, over these fakes.</summary>
    public HandlerSender Sender { get; }

    public AppliedServiceRegistry Applied { get; } = new();

    public TestMeterFactory Meters { get; } = new();

    public IForwarder Forwarder { get; } = Substitute.For<IForwarder>();

    public ILinkDevice Link { get; } = Substitute.For<ILinkDevice>();

    public CapturingLogger<ApplyServiceHandler> ApplyLog { get; } = new();

    public CapturingLogger<AllocateLoadBalancerIpHandler> AllocateLog { get; } = new();

    public ApplyServiceHandler ApplyHandler() =>
        new(Sender, Applied, Link, Forwarder, Options.Create(new ServiceOptions { DrainTimeout = Drain }), ApplyLog);

    public RemoveServiceHandler RemoveHandler() =>
        new(Sender, Applied, Link, Forwarder, Options.Create(new ServiceOptions { DrainTimeout = Drain }), new CapturingLogger<RemoveServiceHandler>());

    public Task<ApplyServiceResponse> ApplyAsync(ServiceSpec spec, params PortBackends[] backends) =>
        Sender.Send(new ApplyCommand(spec, backends), CancellationToken.None).AsTask();

    public Task<RemoveServiceResponse> RemoveAsync(string name) =>
        Sender.Send(new RemoveCommand("default", name), CancellationToken.None).AsTask();

    /// <summary>Makes the forwarder refuse the listener on <paramref name="binding"/> (e.g. "192.168.0.225:443").</summary>
    public void FailListener(string binding, string error = "Address already in use") =>
        Forwarder.ApplyAsync(Arg.Is<ListenerSpec>(listener => listener.Binding.ToString() == binding), Arg.Any<CancellationToken>())
            .Returns(ForwarderResult.Failed(error));

    public void ClearCalls()
    {
        Forwarder.ClearReceivedCalls();
        Link.ClearReceivedCalls();
        Sender.Sent.Clear();
    }

    /// <summary>The bindings the forwarder was asked to apply, in order.</summary>
    public string[] AppliedListeners() =>
        [.. Forwarder.ReceivedCalls()
            .Where(call => call.GetMethodInfo().Name == nameof(IForwarder.ApplyAsync))
            .Select(call => ((ListenerSpec)call.GetArguments()[0]!).Binding.ToString())];

    /// <summary>The bindings the forwarder was asked to stop, with the drain timeout given, in order.</summary>
    public (string Binding, TimeSpan Drain)[] StoppedListeners() =>
        [.. Forwarder.ReceivedCalls()
            .Where(call => call.GetMethodInfo().Name is nameof(IForwarder.StopAsync) or nameof(IForwarder.DetachAsync))
            .Select(call => (((PortBinding)call.GetArguments()[0]!).ToString(), (TimeSpan)call.GetArguments()[1]!))];

    public string[] LinkCalls() =>
        [.. Link.ReceivedCalls()
            .Where(call => call.GetMethodInfo().Name is nameof(ILinkDevice.AddAddressAsync) or nameof(ILinkDevice.RemoveAddressAsync))
            .Select(call => $"{(call.GetMethodInfo().Name == nameof(ILinkDevice.AddAddressAsync) ? "add" : "remove")} {call.GetArguments()[0]}")];

    public static PortBackends Backends(int port, params string[] endpoints) =>
        new(ServicePort.Tcp(port), [.. endpoints.Select(Endpoint)]);

    public static Endpoint Endpoint(string text)
    {
        var colon = text.LastIndexOf(':');
        return new Endpoint(IPAddress.Parse(text[..colon]), int.Parse(text[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    public static ServiceSpec Spec(string name, string? ip, params int[] ports) =>
        TestData.Spec(name, ports) with { LoadBalancerIp = ip };

    public static HealthCheckSettings NoChecks { get; } = HealthCheckSettings.Default with { Enabled = false };

    public void Dispose()
    {
        Applied.Dispose();
        Meters.Dispose();
    }
}

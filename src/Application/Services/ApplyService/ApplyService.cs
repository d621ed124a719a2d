using System.Diagnostics.CodeAnalysis;
using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Services.ApplyService;

/// <summary>
/// Makes a Service run as asked: its IP allocated (<see cref="AllocateLoadBalancerIp"/>) and on the link device, one
/// listener per port (TCP or UDP) forwarding to its backends. All of it or nothing: when a step fails, what this command did is
/// undone and the Service runs as before. Status and Events are the reconciler's, which sends this command.
/// </summary>
/// <param name="Backends">The backends per port; a port without an entry gets a listener with no backends.</param>
public sealed record ApplyService(ServiceSpec Service, IReadOnlyList<PortBackends> Backends) : ICommand<ApplyServiceResponse>
{
    /// <summary>A balancing policy by name (<see cref="LoadBalancingPolicyNames"/>).</summary>
    public string Policy { get; init; } = LoadBalancingPolicyNames.Default;

    public HealthCheckSettings HealthCheck { get; init; } = HealthCheckSettings.Default;

    /// <summary>Client-IP affinity's timeout (<see cref="ListenerSpec.AffinityTimeout"/>); null: no affinity.</summary>
    public TimeSpan? AffinityTimeout { get; init; }

    /// <summary>How long a UDP flow lives without a datagram; null for the forwarder's default.</summary>
    public TimeSpan? UdpFlowIdleTimeout { get; init; }

    /// <summary>The PROXY protocol header each TCP listener writes to its backends.</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }

    /// <summary>The flow timeout a listener of <paramref name="protocol"/> gets: UDP only, as only UDP has flows.</summary>
    public TimeSpan? UdpFlowIdleTimeoutFor(TransportProtocol protocol) => protocol == TransportProtocol.Udp ? UdpFlowIdleTimeout : null;

    /// <summary>The header a listener of <paramref name="protocol"/> writes: TCP only, as the PROXY protocol is a stream's prefix.</summary>
    public ProxyProtocolVersion ProxyProtocolFor(TransportProtocol protocol) =>
        protocol == TransportProtocol.Tcp ? ProxyProtocol : ProxyProtocolVersion.None;
}

/// <summary>
/// Either <see cref="Applied"/> is set, or <see cref="Failure"/> with <see cref="Refusal"/> (the allocator said no) or
/// <see cref="ValidationErrors"/> (the Service cannot be served as written), or neither of those two: a failure that a
/// later attempt may not meet (a listener that could not bind, a link device that said no).
/// </summary>
public sealed record ApplyServiceResponse : IValidationFailureResponse<ApplyServiceResponse>
{
    public AppliedService? Applied { get; init; }

    /// <summary>The allocation behind <see cref="Applied"/>: its IPs (primary first), whether they moved, and why these.</summary>
    public StackAllocation? Allocation { get; init; }

    /// <summary>False when the Service already ran exactly like this.</summary>
    public bool Changed { get; init; }

    /// <summary>Port bindings the Service held before and gave up (moved to another IP, ports removed).</summary>
    public IReadOnlyList<PortBinding> Freed { get; init; } = [];

    /// <summary>Ports that are allocated but have no listener: none since UDP is forwarded too; kept for a protocol the forwarder may not take.</summary>
    public IReadOnlyList<ServicePort> NotForwarded { get; init; } = [];

    public AllocationRefusal? Refusal { get; init; }

    /// <summary>Why nothing was applied: the allocator's refusal, invalid fields, a listener that could not start, a link device that said no.</summary>
    public string? Failure { get; init; }

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    [MemberNotNullWhen(true, nameof(Applied), nameof(Allocation))]
    public bool Succeeded => Applied is not null;

    public static ApplyServiceResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors, Failure = string.Join("; ", errors.Select(ServiceSpecFields.Describe)) };

    internal static ApplyServiceResponse Failed(string reason, AllocationRefusal? refusal = null) =>
        new() { Failure = reason, Refusal = refusal };
}

public sealed class ApplyServiceHandler(
    ISender sender,
    IAppliedServiceRegistry applied,
    ILinkDevice link,
    IForwarder forwarder,
    IOptions<ServiceOptions> options,
    ILogger<ApplyServiceHandler> logger)
    : ICommandHandler<ApplyService, ApplyServiceResponse>
{
    public async ValueTask<ApplyServiceResponse> Handle(ApplyService command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var left = new LeftBehind();
        try
        {
            using (await applied.EnterAsync(cancellationToken).ConfigureAwait(false))
            {
                return await ApplyAsync(command, left, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // Outside the lock: one Service's connections draining must not hold up the others.
            await LinkAddresses.RemoveAfterDrainsAsync(applied, link, left.Drains, left.VacatedIps, logger).ConfigureAwait(false);
        }
    }

    private async Task<ApplyServiceResponse> ApplyAsync(ApplyService command, LeftBehind left, CancellationToken cancellationToken)
    {
        // The spec is validated here, once, by the allocation request's validator.
        var allocated = await sender.Send(new AllocateLoadBalancerIp(command.Service), cancellationToken).ConfigureAwait(false);
        if (allocated.ValidationErrors.Count > 0)
        {
            return ApplyServiceResponse.FromValidationErrors(allocated.ValidationErrors);
        }

        if (!allocated.Succeeded)
        {
            return ApplyServiceResponse.Failed(allocated.Refusal!.Message, allocated.Refusal);
        }

        var allocation = allocated.Allocation;
        var key = command.Service.Key;
        var previous = applied.Find(key);
        var undo = new Undo(command, allocation, allocated.Previous, previous);
        try
        {
            var ip = allocation.Primary.Ip;
            foreach (var address in allocation.Ips)
            {
                if (previous?.Ips.Contains(address) == true || applied.IsIpHeld(address, except: key))
                {
                    continue;
                }

                var added = await link.AddAddressAsync(address, cancellationToken).ConfigureAwait(false);
                if (!added.Succeeded)
                {
                    await RollBackAsync(undo).ConfigureAwait(false);
                    return ApplyServiceResponse.Failed($"link device {link.Name} refused {address}: {added.Error}");
                }

                undo.AddedAddresses.Add(address);
            }

            var listeners = Listeners(command, allocation);
            foreach (var listener in listeners)
            {
                var replaced = previous?.Listeners.FirstOrDefault(old => old.Binding == listener.Binding);
                if (replaced is not null && SameListener(replaced, listener))
                {
                    continue;
                }

                var started = await forwarder.ApplyAsync(listener, cancellationToken).ConfigureAwait(false);
                if (!started.Succeeded)
                {
                    await RollBackAsync(undo).ConfigureAwait(false);
                    return ApplyServiceResponse.Failed($"listener {listener.Binding}: {started.Error}");
                }

                undo.Started.Add((listener, replaced));
            }

            var now = new AppliedService(command.Service, ip, listeners, command.Policy, command.HealthCheck) { Ips = allocation.Ips };
            applied.Put(now);
            undo.Committed = true;
            foreach (var address in undo.AddedAddresses)
            {
                // Logged once it stays: an apply that fails and is retried adds and removes the address each time.
                ServiceLog.AddressAdded(logger, address, link.Name);
            }

            var stopped = await DetachStaleAsync(previous, listeners, left, cancellationToken).ConfigureAwait(false);

            // An IP it left (moved, or a family it no longer has) leaves the link once nobody holds it.
            foreach (var gone in allocation.VacatedIps.Concat(previous?.Ips ?? []).Except(allocation.Ips).Distinct())
            {
                if (!applied.IsIpHeld(gone, except: key))
                {
                    left.VacatedIps.Add(gone);
                }
            }

            var changed = previous is null || allocation.Changed || undo.Started.Count > 0 || stopped > 0;
            if (changed)
            {
                ServiceLog.Applied(logger, key, ip, new ListenersText(listeners));
            }
            else
            {
                ServiceLog.Unchanged(logger, key, ip);
            }

            return new ApplyServiceResponse
            {
                Applied = now,
                Allocation = allocation,
                Changed = changed,
                Freed = Freed(allocated.Previous, allocation),
                NotForwarded = [.. allocation.Bindings.Where(binding => !listeners.Any(listener => listener.Binding == binding)).Select(binding => binding.Port)],
            };
        }
        catch when (!undo.Committed)
        {
            // A forwarder or link device that throws is a bug or a broken environment; it still must not leave the
            // Service half applied.
            await RollBackAsync(undo).ConfigureAwait(false);
            throw;
        }
    }

    private static List<PortBinding> Freed(IReadOnlyList<IpAllocation> before, StackAllocation now) =>
        !now.Changed ? [] : [.. before.SelectMany(allocation => allocation.Bindings).Except(now.Bindings)];

    /// <summary>One listener per port (TCP and UDP) of the allocation and IP: the primary IP's first, lowest port first.</summary>
    private static List<ListenerSpec> Listeners(ApplyService command, StackAllocation allocation)
    {
        var sourceRanges = command.Service.ParseSourceRanges();
        return [.. allocation.Bindings
            .Select(binding => new ListenerSpec(
                binding,
                allocation.Service,
                command.Backends.FirstOrDefault(backends => backends.Port == binding.Port)?.Endpoints ?? [],
                command.Policy)
            {
                HealthCheck = command.HealthCheck,
                AffinityTimeout = command.AffinityTimeout,
                UdpFlowIdleTimeout = command.UdpFlowIdleTimeoutFor(binding.Protocol),
                SourceRanges = sourceRanges,
                ProxyProtocol = command.ProxyProtocolFor(binding.Protocol),
            })];
    }

    private static bool SameListener(ListenerSpec left, ListenerSpec right) =>
        left.Binding == right.Binding
        && left.Service == right.Service
        && left.Policy == right.Policy
        && left.HealthCheck == right.HealthCheck
        && left.MaxConnections == right.MaxConnections
        && left.AffinityTimeout == right.AffinityTimeout
        && left.UdpFlowIdleTimeout == right.UdpFlowIdleTimeout
        && left.SourceRanges.SequenceEqual(right.SourceRanges)
        && left.ProxyProtocol == right.ProxyProtocol
        && left.Backends.SequenceEqual(right.Backends);

    /// <summary>Detaches the listeners of ports that went away (or of the IP the Service left); their drains are left behind.</summary>
    private async Task<int> DetachStaleAsync(AppliedService? previous, List<ListenerSpec> listeners, LeftBehind left, CancellationToken cancellationToken)
    {
        if (previous is null)
        {
            return 0;
        }

        var stale = previous.Listeners.Where(old => !listeners.Any(listener => listener.Binding == old.Binding)).ToList();
        foreach (var listener in stale)
        {
            left.Drains.Add(await forwarder.DetachAsync(listener.Binding, options.Value.DrainTimeout, cancellationToken).ConfigureAwait(false));
            ServiceLog.ListenerStopped(logger, previous.Key, listener.Binding);
        }

        return stale.Count;
    }

    /// <summary>
    /// Puts back what this command changed, newest first: listeners, the address, the allocation. It runs without the
    /// caller's token, since a cancelled apply must still not stay half done.
    /// </summary>
    private async Task RollBackAsync(Undo undo)
    {
        if (undo.RolledBack)
        {
            return;
        }

        undo.RolledBack = true;
        var key = undo.Command.Service.Key;
        var problems = new List<string>();
        for (var i = undo.Started.Count - 1; i >= 0; i--)
        {
            var (listener, replaced) = undo.Started[i];
            try
            {
                if (replaced is null)
                {
                    await forwarder.StopAsync(listener.Binding, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    var restored = await forwarder.ApplyAsync(replaced, CancellationToken.None).ConfigureAwait(false);
                    if (!restored.Succeeded)
                    {
                        problems.Add($"listener {replaced.Binding} not restored: {restored.Error}");
                    }
                }
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                problems.Add($"listener {listener.Binding}: {failure.Message}");
            }
        }

        await UndoAllocationAsync(undo, problems).ConfigureAwait(false);

        foreach (var address in undo.AddedAddresses)
        {
            try
            {
                var removed = await link.RemoveAddressAsync(address, CancellationToken.None).ConfigureAwait(false);
                if (!removed.Succeeded)
                {
                    problems.Add($"address {address} left on {link.Name}: {removed.Error}");
                }
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                problems.Add($"address {address} left on {link.Name}: {failure.Message}");
            }
        }

        if (problems.Count == 0)
        {
            ServiceLog.RolledBack(logger, key);
        }
        else
        {
            ServiceLog.RollbackIncomplete(logger, key, string.Join("; ", problems));
        }
    }

    /// <summary>Releases what this command allocated and restores what the Service held before, exactly.</summary>
    private async Task UndoAllocationAsync(Undo undo, List<string> problems)
    {
        if (!undo.Allocation.Changed)
        {
            return;
        }

        var spec = undo.Command.Service;
        await sender.Send(new ReleaseLoadBalancerIp(spec.Namespace, spec.Name), CancellationToken.None).ConfigureAwait(false);
        if (undo.Before.Count == 0)
        {
            return;
        }

        // The allocator keeps no requests, so the old one comes from the last applied spec, or, for an assignment that
        // was restored but never applied, from the old ports with this command's sharing. Every IP it had goes back,
        // primary first, so its families keep their order.
        var before = undo.Before;
        var old = undo.Previous?.Spec
            ?? spec with
            {
                Ports = [.. before[0].Bindings.Select(binding => ServicePortSpec.From(binding.Port))],
                LoadBalancerIp = null,
                LoadBalancerIps = null,
                IpFamilies = [.. before.Select(allocation => IpFamilies.Name(IpFamilies.Of(allocation.Ip)))],
                IpFamilyPolicy = before.Count > 1 ? nameof(IpFamilyPolicy.PreferDualStack) : null,
            };
        var restored = await sender.Send(
                new RestoreAllocations([.. before.Select(allocation => new RestoredService(old, allocation.Ip.ToString()))]), CancellationToken.None)
            .ConfigureAwait(false);
        foreach (var conflict in restored.Report?.Conflicts ?? [])
        {
            problems.Add($"allocation {conflict.Ip} not restored: {conflict.Reason}");
        }

        foreach (var skipped in restored.Skipped)
        {
            problems.Add($"allocation of {skipped.Service} not restored: {string.Join("; ", skipped.Errors)}");
        }
    }

    /// <summary>What an apply leaves to finish once the lock is released: the drains of detached listeners and the IP the Service left.</summary>
    private sealed class LeftBehind
    {
        public List<Task> Drains { get; } = [];

        public List<IPAddress> VacatedIps { get; } = [];
    }

    private sealed class Undo(ApplyService command, StackAllocation allocation, IReadOnlyList<IpAllocation> before, AppliedService? previous)
    {
        public ApplyService Command { get; } = command;

        public StackAllocation Allocation { get; } = allocation;

        public IReadOnlyList<IpAllocation> Before { get; } = before;

        public AppliedService? Previous { get; } = previous;

        /// <summary>Addresses this command put on the link, to take off again on a rollback.</summary>
        public List<IPAddress> AddedAddresses { get; } = [];

        /// <summary>Listeners this command applied, with the spec each one replaced (null for a new one).</summary>
        public List<(ListenerSpec Listener, ListenerSpec? Replaced)> Started { get; } = [];

        /// <summary>Set once the new state is recorded; later failures are reported, not undone.</summary>
        public bool Committed { get; set; }

        public bool RolledBack { get; set; }
    }
}

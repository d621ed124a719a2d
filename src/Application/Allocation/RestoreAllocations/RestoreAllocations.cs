using FluentValidation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Allocation.RestoreAllocations;

/// <summary>A Service and the IP it already has (read from its status).</summary>
public sealed record RestoredService(ServiceSpec Service, string Ip)
{
    /// <summary>The domain assignment. Call only on an entry that passed <see cref="RestoredServiceValidator"/>.</summary>
    public RestoredAssignment ToAssignment() =>
        IpAddressText.TryParse(Ip, out var ip)
            ? new RestoredAssignment(Service.ToRequest(), ip)
            : throw new InvalidOperationException(IpAddressText.InvalidAddressMessage(Ip));
}

/// <summary>
/// Seeds the allocator with the IPs Services already have, before anything new is allocated, so a restart changes no IP.
/// One unreadable entry does not stop the others: it is reported in <see cref="RestoreAllocationsResponse.Skipped"/>.
/// </summary>
public sealed record RestoreAllocations(IReadOnlyList<RestoredService> Services) : ICommand<RestoreAllocationsResponse>
{
    /// <summary>
    /// Forget every assignment the allocator holds first, so that it holds the records exactly: a replica that serves
    /// nothing re-reading them (a Service deleted or moved since the last reading must not keep its old IP). Never while
    /// Services are applied: their assignments would go with the rest.
    /// </summary>
    public bool ReplaceExisting { get; init; }

    /// <summary>Logged at Debug, conflicts included: a standby reads the records again at every change.</summary>
    public bool Quiet { get; init; }
}

/// <summary>An entry that was not restored because it is not valid, with every reason.</summary>
public sealed record SkippedRestore(string Service, IReadOnlyList<ValidationError> Errors);

public sealed record RestoreAllocationsResponse : IValidationFailureResponse<RestoreAllocationsResponse>
{
    public RestoreReport? Report { get; init; }

    public IReadOnlyList<SkippedRestore> Skipped { get; init; } = [];

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    public bool Succeeded => Report is not null;

    public static RestoreAllocationsResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors };
}

public sealed class RestoreAllocationsHandler(
    IAllocationRegistry registry,
    IValidator<RestoredService> entryValidator,
    ILogger<RestoreAllocationsHandler> logger)
    : ICommandHandler<RestoreAllocations, RestoreAllocationsResponse>
{
    public ValueTask<RestoreAllocationsResponse> Handle(RestoreAllocations command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var valid = new List<RestoredAssignment>(command.Services.Count);
        var skipped = new List<SkippedRestore>();
        foreach (var entry in command.Services)
        {
            var check = entryValidator.Validate(entry);
            if (!check.IsValid)
            {
                var name = entry.Service is { } service ? $"{service.Namespace}/{service.Name}" : "(no service)";
                skipped.Add(new SkippedRestore(name, [.. check.Errors.Select(ValidationError.From)]));
                continue;
            }

            valid.Add(entry.ToAssignment());
        }

        if (command.ReplaceExisting)
        {
            foreach (var service in registry.Leases().SelectMany(lease => lease.Owners).Distinct().ToList())
            {
                registry.Release(service);
            }
        }

        var report = registry.Restore(valid);
        if (command.Quiet)
        {
            // What stands out is told when the standby takes over: the term reads the records in full again then.
            AllocationLog.Reread(logger, report.Restored.Count, report.Conflicts.Count, skipped.Count);
            return ValueTask.FromResult(new RestoreAllocationsResponse { Report = report, Skipped = skipped });
        }

        AllocationLog.Restored(logger, report.Restored.Count);
        foreach (var conflict in report.Conflicts)
        {
            AllocationLog.RestoreConflict(logger, conflict.Service, conflict.Ip, conflict.Reason);
        }

        foreach (var skip in skipped)
        {
            AllocationLog.RestoreSkipped(logger, skip.Service, string.Join("; ", skip.Errors));
        }

        return ValueTask.FromResult(new RestoreAllocationsResponse { Report = report, Skipped = skipped });
    }
}

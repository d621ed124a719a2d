using FluentValidation;
using LoadBalancer.Domain.Services;
using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Application.Services.ApplyService;

public sealed class ApplyServiceValidator : AbstractValidator<ApplyService>
{
    public ApplyServiceValidator()
    {
        // The spec itself is validated once, by the AllocateLoadBalancerIp request the handler sends.
        RuleFor(command => command.Service)
            .NotNull()
            .WithMessage("service: a Service is required");

        RuleFor(command => command.Policy)
            .Must(LoadBalancingPolicyNames.IsKnown)
            .WithMessage(command => $"policy: {LoadBalancingPolicyNames.UnknownMessage(command.Policy)}");

        RuleFor(command => command.Backends)
            .NotNull()
            .WithMessage("backends: a list (possibly empty) is required");
        RuleForEach(command => command.Backends)
            .Must(entry => entry is not null && entry.Endpoints is not null)
            .WithMessage("backends: an entry or its endpoint list is missing")
            .When(command => command.Backends is not null);
        RuleFor(command => command)
            .Must(command => UnknownPorts(command).Count == 0)
            .WithName("backends")
            .WithMessage(command => $"backends: given for {string.Join(", ", UnknownPorts(command))}, which the Service does not expose")
            .When(command => command.Backends is not null && command.Service?.Ports is not null && command.Service.Ports.All(port => port is not null));
        RuleFor(command => command)
            .Must(command => RepeatedPorts(command).Count == 0)
            .WithName("backends")
            .WithMessage(command => $"backends: {string.Join(", ", RepeatedPorts(command))} listed more than once")
            .When(command => command.Backends is not null);

        RuleFor(command => command.AffinityTimeout)
            .Must(timeout => timeout > TimeSpan.Zero)
            .When(command => command.AffinityTimeout is not null)
            .WithMessage(command => $"affinity timeout {command.AffinityTimeout} must be positive");

        RuleFor(command => command.HealthCheck)
            .NotNull()
            .WithMessage("health check: settings are required");
        RuleFor(command => command.HealthCheck.Interval)
            .GreaterThan(TimeSpan.Zero)
            .When(command => command.HealthCheck is not null)
            .WithMessage(command => $"health check interval {command.HealthCheck.Interval} must be positive");
        RuleFor(command => command.HealthCheck.Timeout)
            .GreaterThan(TimeSpan.Zero)
            .When(command => command.HealthCheck is not null)
            .WithMessage(command => $"health check timeout {command.HealthCheck.Timeout} must be positive");
        RuleFor(command => command.HealthCheck.HealthyThreshold)
            .GreaterThanOrEqualTo(1)
            .When(command => command.HealthCheck is not null)
            .WithMessage(command => $"health check healthy threshold {command.HealthCheck.HealthyThreshold} must be at least 1");
        RuleFor(command => command.HealthCheck.UnhealthyThreshold)
            .GreaterThanOrEqualTo(1)
            .When(command => command.HealthCheck is not null)
            .WithMessage(command => $"health check unhealthy threshold {command.HealthCheck.UnhealthyThreshold} must be at least 1");
        RuleFor(command => command.HealthCheck.Port)
            .InclusiveBetween(1, 65535)
            .When(command => command.HealthCheck?.Port is not null)
            .WithMessage(command => $"health check port {command.HealthCheck.Port} must be from 1 to 65535");
    }

    private static List<string> UnknownPorts(ApplyService command)
    {
        var exposed = command.Service.Ports
            .Where(port => port is not null)
            .Select(port => (Protocol: TransportProtocolNames.Parse(port.Protocol), port.Port))
            .ToHashSet();
        return [.. command.Backends
            .Where(entry => entry is not null && !exposed.Contains((entry.Port.Protocol, entry.Port.Port)))
            .Select(entry => entry.Port.ToString())];
    }

    private static List<string> RepeatedPorts(ApplyService command) =>
        [.. command.Backends
            .Where(entry => entry is not null)
            .GroupBy(entry => entry.Port)
            .Where(group => group.Count() > 1)
            .Select(group => group.Key.ToString())];
}

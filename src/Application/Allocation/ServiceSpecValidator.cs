using FluentValidation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Application.Allocation;

/// <summary>Checks a <see cref="ServiceSpec"/>; every message names the field and the value given.</summary>
public sealed class ServiceSpecValidator : AbstractValidator<ServiceSpec>
{
    private const int MaxLabelLength = 63;
    public const int MaxSharingKeyLength = 253;

    /// <summary>
    /// Each range costs the kernel's socket filter up to 13 instructions of the 4096 it allows; Kubernetes sets no
    /// limit, but a firewall of more networks than this belongs in nftables.
    /// </summary>
    public const int MaxSourceRanges = 256;

    /// <summary>The field name of a problem with the source-ranges annotation (the spec field's are <c>SourceRanges[i]</c>).</summary>
    public const string SourceRangesAnnotationField = "sourceRangesAnnotation";

    public ServiceSpecValidator()
    {
        RuleFor(spec => spec.Namespace)
            .MustBeDnsLabel("namespace");
        RuleFor(spec => spec.Name)
            .MustBeDnsLabel("name");

        RuleFor(spec => spec.Ports)
            .NotNull()
            .WithMessage("ports: a Service of type LoadBalancer needs at least one port")
            // No upper bound: Kubernetes sets none on a Service's ports, and each (protocol, port) may appear once, which
            // bounds the list by itself. What many ports cost (a listener each) is bounded by the connection budget.
            .Must(ports => ports is null || ports.Count >= 1)
            .WithMessage("ports: 0 ports given; a Service of type LoadBalancer needs at least one");
        RuleForEach(spec => spec.Ports)
            .NotNull()
            .When(spec => spec.Ports is not null)
            .WithMessage("ports: an entry is empty; each port needs a protocol and a number");
        RuleForEach(spec => spec.Ports).ChildRules(port =>
        {
            port.RuleFor(p => p.Protocol)
                .Must(protocol => TransportProtocolNames.TryParse(protocol, out _))
                .WithMessage(p => $"protocol {QuotedValue.Of(p.Protocol)} of port {p.Port} must be TCP or UDP");
            port.RuleFor(p => p.Port)
                .InclusiveBetween(ServicePort.MinPort, ServicePort.MaxPort)
                .WithMessage(p => $"port {p.Port} must be between {ServicePort.MinPort} and {ServicePort.MaxPort}");
        }).When(spec => spec.Ports is not null);
        RuleFor(spec => spec.Ports)
            .Must(NotRepeatAPort)
            .When(spec => spec.Ports is not null)
            .WithMessage(spec => $"ports: {DescribeRepeats(spec.Ports)} listed more than once");

        RuleFor(spec => spec.LoadBalancerIp)
            .Must(ip => IpAddressText.TryParse(ip, out _))
            .When(spec => spec.LoadBalancerIp is not null)
            .WithMessage(spec => $"loadBalancerIP: {IpAddressText.InvalidAddressMessage(QuotedValue.Of(spec.LoadBalancerIp))}");

        // An unknown name is the allocator's refusal, which lists the pools; a name no pool can have is a mistake here.
        RuleFor(spec => spec.Pool)
            .Must(BeDnsLabel)
            .When(spec => spec.Pool is not null)
            .WithMessage(spec => $"pool {QuotedValue.Of(spec.Pool)} is not a pool name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most {MaxLabelLength} characters");

        RuleFor(spec => spec.SharingKey)
            .Must(key => IsSharingKey(key))
            .When(spec => spec.SharingKey is not null)
            .WithMessage(spec => $"sharing key {QuotedValue.Of(spec.SharingKey)} must be 1-{MaxSharingKeyLength} characters without surrounding spaces");
        RuleFor(spec => spec)
            .Must(spec => !(spec.ExclusiveIp && spec.SharingKey is not null))
            .WithName("exclusiveIp")
            .WithMessage(spec => $"exclusive IP and sharing key {QuotedValue.Of(spec.SharingKey)} cannot both be set: an exclusive IP is never shared");

        // A range that cannot be read makes the Service invalid rather than served to everyone: people use it as a firewall.
        RuleFor(spec => spec).Custom(CheckSourceRanges);
    }

    private static void CheckSourceRanges(ServiceSpec spec, ValidationContext<ServiceSpec> context)
    {
        var ranges = spec.SourceRanges ?? [];
        if (ranges.Count > MaxSourceRanges)
        {
            var field = spec.SourceRangesFromAnnotation ? SourceRangesAnnotationField : "SourceRanges";
            context.AddFailure(new FluentValidation.Results.ValidationFailure(field,
                $"{ranges.Count} source ranges given; at most {MaxSourceRanges} are served (use a firewall for more)"));
        }

        for (var index = 0; index < ranges.Count; index++)
        {
            var range = ranges[index];

            // Kubernetes allows the entries to be space-padded.
            if (IpCidr.TryParse(range?.Trim(), out _, out _, out var reason))
            {
                continue;
            }

            var field = spec.SourceRangesFromAnnotation ? SourceRangesAnnotationField : $"SourceRanges[{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}]";
            context.AddFailure(new FluentValidation.Results.ValidationFailure(field, $"{QuotedValue.Of(range)} is not a CIDR: {reason}", range));
        }
    }

    public static bool IsSharingKey(string? key) =>
        !string.IsNullOrWhiteSpace(key) && key.Length <= MaxSharingKeyLength && key.Trim() == key;

    internal static bool BeDnsLabel(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLabelLength)
        {
            return false;
        }

        if (!char.IsAsciiLetterLower(value[0]) && !char.IsAsciiDigit(value[0]))
        {
            return false;
        }

        if (!char.IsAsciiLetterLower(value[^1]) && !char.IsAsciiDigit(value[^1]))
        {
            return false;
        }

        return value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
    }

    private static bool NotRepeatAPort(IReadOnlyList<ServicePortSpec> ports) => Repeats(ports).Count == 0;

    private static string DescribeRepeats(IReadOnlyList<ServicePortSpec> ports) => string.Join(", ", Repeats(ports));

    private static List<string> Repeats(IReadOnlyList<ServicePortSpec> ports) =>
        [.. ports
            .Where(port => port is not null)
            .GroupBy(port => (Protocol: port.Protocol?.ToUpperInvariant(), port.Port))
            .Where(group => group.Count() > 1)
            .Select(group => $"{group.Key.Protocol} {group.Key.Port}")];
}

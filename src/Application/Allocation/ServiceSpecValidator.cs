using FluentValidation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Application.Services;
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

        RuleFor(spec => spec.IpFamilyPolicy)
            .Must(policy => IpFamilies.TryParsePolicy(policy, out _))
            .When(spec => spec.IpFamilyPolicy is not null)
            .WithMessage(spec => $"ipFamilyPolicy: {QuotedValue.Of(spec.IpFamilyPolicy)} is not one of {IpFamilies.PolicyNames}");
        RuleForEach(spec => spec.IpFamilies)
            .Must(family => IpFamilies.TryParse(family, out _))
            .When(spec => spec.IpFamilies is not null)
            .WithMessage((spec, family) => $"{QuotedValue.Of(family)} is not IPv4 or IPv6");
        RuleFor(spec => spec.IpFamilies)
            .Must(families => families!.Count <= 2 && families.Distinct(StringComparer.Ordinal).Count() == families.Count)
            .When(spec => spec.IpFamilies is not null)
            .WithMessage(spec => $"ipFamilies: {QuotedValue.Of(string.Join(", ", spec.IpFamilies!))} must list at most 2 distinct families");
        RuleFor(spec => spec.IpFamilies)
            .Must(families => families!.Count < 2)
            .When(spec => spec.IpFamilies is not null && IsSingleStack(spec))
            .WithMessage(spec => $"ipFamilies: {QuotedValue.Of(string.Join(", ", spec.IpFamilies!))} asks for two families, and ipFamilyPolicy {QuotedValue.Of(spec.IpFamilyPolicy ?? "SingleStack")} gives one; set PreferDualStack or RequireDualStack");

        RuleForEach(spec => spec.LoadBalancerIps)
            .Must(ip => IpAddressText.TryParse(ip, out _))
            .When(spec => spec.LoadBalancerIps is not null)
            .WithMessage((spec, ip) => $"{IpAddressText.InvalidAddressMessage(QuotedValue.Of(ip))}");
        RuleFor(spec => spec.LoadBalancerIps)
            .Must(ips => ips!.Count >= 1 && ips.Count <= 2 && Parsed(ips).GroupBy(IpFamilies.Of).All(family => family.Count() == 1))
            .When(spec => spec.LoadBalancerIps is not null && spec.LoadBalancerIps.All(ip => IpAddressText.TryParse(ip, out _)))
            .WithMessage(spec => $"{QuotedValue.Of(string.Join(",", spec.LoadBalancerIps!))} must list one or two addresses, at most one of each family");
        RuleFor(spec => spec.LoadBalancerIps)
            .Must(ips => ips!.Count < 2)
            .When(spec => spec.LoadBalancerIps is not null && IsSingleStack(spec))
            .WithMessage(spec => $"{QuotedValue.Of(string.Join(",", spec.LoadBalancerIps!))} gives two addresses, and ipFamilyPolicy {QuotedValue.Of(spec.IpFamilyPolicy ?? "SingleStack")} gives one; set PreferDualStack or RequireDualStack");
        RuleFor(spec => spec.LoadBalancerIp)
            .Must((spec, ip) => IpAddressText.TryParse(ip, out var one) && Parsed(spec.LoadBalancerIps!).Contains(one))
            .When(spec => spec.LoadBalancerIp is not null && spec.LoadBalancerIps is not null
                && IpAddressText.TryParse(spec.LoadBalancerIp, out _) && spec.LoadBalancerIps.All(ip => IpAddressText.TryParse(ip, out _)))
            .WithMessage(spec => $"loadBalancerIP: {QuotedValue.Of(spec.LoadBalancerIp)} is not one of the annotation {ServiceAnnotations.LoadBalancerIps}'s addresses {QuotedValue.Of(string.Join(",", spec.LoadBalancerIps!))}");

        // A single-stack Service with ipFamilies gets that family: an explicit address of the other can never be served.
        RuleFor(spec => spec)
            .Must(spec => WrongFamilyAddress(spec) is null)
            .When(spec => IsSingleStack(spec) && spec.IpFamilies is [var first] && IpFamilies.TryParse(first, out _))
            .WithName("IpFamilies")
            .WithMessage(spec => $"ipFamilies: {QuotedValue.Of(spec.IpFamilies![0])} does not admit the explicit address {QuotedValue.Of(WrongFamilyAddress(spec))}");

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

    private static bool IsSingleStack(ServiceSpec spec) => spec.IpFamilyPolicy is null or nameof(IpFamilyPolicy.SingleStack);

    private static List<System.Net.IPAddress> Parsed(IEnumerable<string> ips) =>
        [.. ips.Select(ip => IpAddressText.TryParse(ip, out var parsed) ? parsed : null).OfType<System.Net.IPAddress>()];

    /// <summary>The first explicit address whose family is not the single family asked for, as written.</summary>
    private static string? WrongFamilyAddress(ServiceSpec spec)
    {
        if (spec.IpFamilies is not [var first] || !IpFamilies.TryParse(first, out var family))
        {
            return null;
        }

        var written = spec.LoadBalancerIps ?? (spec.LoadBalancerIp is null ? [] : [spec.LoadBalancerIp]);
        return written.FirstOrDefault(text => IpAddressText.TryParse(text, out var ip) && IpFamilies.Of(ip) != family);
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

using FluentValidation;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Application.Common.Validation;

/// <summary>The one wording of the DNS-label rule, for every command that names a Service.</summary>
public static class DnsLabelRules
{
    public static IRuleBuilderOptions<T, string?> MustBeDnsLabel<T>(this IRuleBuilder<T, string?> rule, string field) =>
        rule.Must(ServiceSpecValidator.BeDnsLabel)
            .WithMessage((_, value) =>
                $"{field} {QuotedValue.Of(value)} must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit");
}

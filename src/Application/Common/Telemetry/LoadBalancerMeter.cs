using System.Diagnostics.Metrics;

namespace LoadBalancer.Application.Common.Telemetry;

/// <summary>
/// The one meter every layer declares its instruments on, each in the folder that owns the fact it measures. Names are
/// OpenTelemetry's dotted form (<c>littlelb.pool.addresses</c>); the Prometheus exporter writes them with underscores and
/// unit suffixes (<c>littlelb_pool_addresses</c>, <c>..._bytes_total</c>, <c>..._seconds</c>). docs/observability.md lists them.
/// </summary>
public static class LoadBalancerMeter
{
    public const string Name = "LittleLoadBalancer";

    public static Meter Create(IMeterFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.Create(Name);
    }

    /// <summary>An enum value as a label value: lower snake case (<c>PoolExhausted</c> → <c>pool_exhausted</c>), one spelling everywhere.</summary>
    public static string Label<TEnum>(TEnum value)
        where TEnum : struct, Enum => LabelCache<TEnum>.Names[value];

    private static class LabelCache<TEnum>
        where TEnum : struct, Enum
    {
        public static readonly IReadOnlyDictionary<TEnum, string> Names = Enum.GetValues<TEnum>().ToDictionary(value => value, value => SnakeCase(value.ToString()));

        private static string SnakeCase(string name)
        {
            var text = new System.Text.StringBuilder(name.Length + 4);
            for (var i = 0; i < name.Length; i++)
            {
                if (char.IsUpper(name[i]) && i > 0)
                {
                    text.Append('_');
                }

                text.Append(char.ToLowerInvariant(name[i]));
            }

            return text.ToString();
        }
    }
}

/// <summary>
/// A set of instruments that must exist from the start, whatever sends to it first: observable ones, read when metrics
/// are collected. Registered under this interface so that the exporter's composition creates them all with the provider.
/// </summary>
public interface IMetricsInstrumentation;

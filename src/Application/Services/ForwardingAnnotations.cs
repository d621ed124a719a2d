using System.Buffers;
using System.Globalization;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Application.Services;

/// <summary>
/// The annotations that steer how a Service's connections are forwarded: health checks, the balancing policy, UDP flows
/// and the PROXY protocol header (docs/annotations.md). Every value that cannot be used is an error naming the annotation and the value, and the
/// default stands in for it.
/// </summary>
/// <param name="Policy">The balancing policy asked for, as a <see cref="LoadBalancingPolicyNames"/> name; null when none
/// (or an unknown one) was, which means <see cref="LoadBalancingPolicyNames.Default"/>.</param>
public sealed record ForwardingAnnotations(HealthCheckSettings HealthCheck, string? Policy, IReadOnlyList<ValidationError> Errors)
{
    public const string UdpFlowIdleTimeoutKey = ServiceAnnotations.Prefix + "udp-flow-idle-timeout";

    /// <summary>The PROXY protocol header the Service's TCP backends get: <c>v1</c> or <c>v2</c> (any case); none by default.</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }

    public const string HealthCheckEnabled = ServiceAnnotations.Prefix + "health-check-enabled";
    public const string HealthCheckType = ServiceAnnotations.Prefix + "health-check-type";
    public const string HealthCheckPath = ServiceAnnotations.Prefix + "health-check-path";
    public const string HealthCheckInterval = ServiceAnnotations.Prefix + "health-check-interval";
    public const string HealthCheckTimeout = ServiceAnnotations.Prefix + "health-check-timeout";
    public const string HealthCheckHealthyThreshold = ServiceAnnotations.Prefix + "health-check-healthy-threshold";
    public const string HealthCheckUnhealthyThreshold = ServiceAnnotations.Prefix + "health-check-unhealthy-threshold";
    public const string BalancingPolicy = ServiceAnnotations.Prefix + "balancing-policy";
    public const string ProxyProtocolAnnotation = ServiceAnnotations.Prefix + "proxy-protocol";

    /// <summary>The original's prefix: its health-check annotations are accepted so that Services move over unchanged.</summary>
    public const string OriginalPrefix = "loadbalancer.example.com/";

    public const int MinThreshold = 1;
    public const int MaxThreshold = 10;

    /// <summary>Longer than any sensible check interval; keeps a typo such as 10000h from overflowing a timer.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(24);

    private static readonly SearchValues<char> DurationNumber = SearchValues.Create("0123456789.");

    public static ForwardingAnnotations None { get; } = new(HealthCheckSettings.Default, null, []);

    /// <summary>How long a UDP flow lives without a datagram; null when not given (or not usable), which means the forwarder's default (30s).</summary>
    public TimeSpan? UdpFlowIdleTimeout { get; init; }

    public static ForwardingAnnotations Read(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null || annotations.Count == 0)
        {
            return None;
        }

        var reader = new Reader(annotations);
        var defaults = HealthCheckSettings.Default;
        var enabled = reader.Boolean(HealthCheckEnabled, defaults.Enabled);
        var type = reader.Type(defaults.Type);
        var path = reader.Path(defaults.Path);
        var interval = reader.Duration(HealthCheckInterval, defaults.Interval);
        var timeout = reader.Timeout(interval, defaults.Timeout);
        var healthy = reader.Threshold(HealthCheckHealthyThreshold, defaults.HealthyThreshold);
        var unhealthy = reader.Threshold(HealthCheckUnhealthyThreshold, defaults.UnhealthyThreshold);
        var policy = reader.Policy();
        var udpFlowIdleTimeout = reader.OptionalDuration(UdpFlowIdleTimeoutKey);
        var proxyProtocol = reader.ProxyProtocol();

        var settings = new HealthCheckSettings
        {
            Enabled = enabled,
            Type = type,
            Path = path,
            Interval = interval,
            Timeout = timeout,
            HealthyThreshold = healthy,
            UnhealthyThreshold = unhealthy,
        };
        return new ForwardingAnnotations(settings, policy, reader.Errors) { UdpFlowIdleTimeout = udpFlowIdleTimeout, ProxyProtocol = proxyProtocol };
    }

    /// <summary>
    /// Whether the annotations choose what a check asks (a usable health-check-type or health-check-path), so that a
    /// check a source would pick for the Service by itself (kube-proxy's healthz of a Local Service) yields to them.
    /// Interval, timeout and thresholds tune either check and do not count; a value that cannot be used does not either,
    /// since the default stands in for it.
    /// </summary>
    public static bool ChoosesProbe(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null || annotations.Count == 0)
        {
            return false;
        }

        var reader = new Reader(annotations);
        return Chosen(HealthCheckType, () => reader.Type(HealthCheckSettings.Default.Type))
            || Chosen(HealthCheckPath, () => reader.Path(HealthCheckSettings.Default.Path));

        bool Chosen<T>(string key, Func<T> read)
        {
            var errors = reader.Errors.Count;
            _ = read();
            return reader.Given(key) && reader.Errors.Count == errors;
        }
    }

    /// <summary>
    /// Parses "10s", "500ms", "1m", "1h" or a bare number of seconds ("1.5" too). Anything longer than
    /// <see cref="MaxDuration"/> comes back as <see cref="TimeSpan.MaxValue"/>, so it fails the range check instead of
    /// overflowing.
    /// </summary>
    private static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var value = text.AsSpan().Trim();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        var unit = 1.0;
        foreach (var (suffix, seconds) in units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal))
            {
                value = value[..^suffix.Length];
                unit = seconds;
                break;
            }
        }

        // Digits with an optional fraction only: no sign, exponent or thousands separator to misread.
        if (value.IsEmpty
            || value.ContainsAnyExcept(DurationNumber)
            || !double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var total = number * unit;
        duration = total > MaxDuration.TotalSeconds ? TimeSpan.MaxValue : TimeSpan.FromSeconds(total);
        return true;
    }

    /// <summary>A duration as an operator would write it: the largest whole unit, else milliseconds.</summary>
    private static string Describe(TimeSpan duration) => duration switch
    {
        _ when duration.Ticks % TimeSpan.TicksPerHour == 0 => $"{duration.Ticks / TimeSpan.TicksPerHour}h",
        _ when duration.Ticks % TimeSpan.TicksPerMinute == 0 => $"{duration.Ticks / TimeSpan.TicksPerMinute}m",
        _ when duration.Ticks % TimeSpan.TicksPerSecond == 0 => $"{duration.Ticks / TimeSpan.TicksPerSecond}s",
        _ => $"{duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms",
    };

    /// <summary>Finds each annotation under our prefix or the original's, and collects the errors.</summary>
    private sealed class Reader(IReadOnlyDictionary<string, string> annotations)
    {
        public List<ValidationError> Errors { get; } = [];

        public bool Given(string key) => TryGet(key, out _, out _);

        public bool Boolean(string key, bool fallback)
        {
            if (!TryGet(key, out var name, out var text))
            {
                return fallback;
            }

            if (bool.TryParse(text.Trim(), out var value))
            {
                return value;
            }

            return Error(name, text, "must be \"true\" or \"false\"", fallback);
        }

        public HealthCheckType Type(HealthCheckType fallback)
        {
            if (!TryGet(HealthCheckType, out var name, out var text))
            {
                return fallback;
            }

            return text.Trim() switch
            {
                var value when value.Equals("tcp", StringComparison.OrdinalIgnoreCase) => Forwarding.HealthCheckType.Tcp,
                var value when value.Equals("http", StringComparison.OrdinalIgnoreCase) => Forwarding.HealthCheckType.Http,
                _ => Error(name, text, "must be \"tcp\" or \"http\"", fallback),
            };
        }

        public string Path(string fallback)
        {
            if (!TryGet(HealthCheckPath, out var name, out var text))
            {
                return fallback;
            }

            // The path goes into the request line as it is, so nothing that could end the line or the path may be in it.
            if (!text.StartsWith('/'))
            {
                return Error(name, text, "must start with '/'", fallback);
            }

            if (text.Any(character => character is <= ' ' or >= '\u007f'))
            {
                return Error(name, text, "must be printable ASCII without spaces (percent-encode anything else)", fallback);
            }

            return text;
        }

        public TimeSpan? OptionalDuration(string key) =>
            TryGet(key, out var name, out var text) ? ParseDuration(name, text) : null;

        public TimeSpan Duration(string key, TimeSpan fallback) =>
            TryGet(key, out var name, out var text) && ParseDuration(name, text) is { } value ? value : fallback;

        /// <summary>
        /// The timeout may not exceed the interval: a check would still be running when the next one starts. When no
        /// timeout is given (or a bad one), the default is shortened to the interval instead of being an error the
        /// operator did not write.
        /// </summary>
        public TimeSpan Timeout(TimeSpan interval, TimeSpan fallback)
        {
            var shortened = fallback <= interval ? fallback : interval;
            if (!TryGet(HealthCheckTimeout, out var name, out var text) || ParseDuration(name, text) is not { } timeout)
            {
                return shortened;
            }

            if (timeout > interval)
            {
                return Error(name, text, $"must not exceed the interval ({Describe(interval)})", shortened);
            }

            return timeout;
        }

        public int Threshold(string key, int fallback)
        {
            if (!TryGet(key, out var name, out var text))
            {
                return fallback;
            }

            if (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                && value is >= MinThreshold and <= MaxThreshold)
            {
                return value;
            }

            return Error(name, text, $"must be a whole number from {MinThreshold} to {MaxThreshold}", fallback);
        }

        public string? Policy()
        {
            if (!TryGet(BalancingPolicy, out var name, out var text))
            {
                return null;
            }

            var known = LoadBalancingPolicyNames.All.FirstOrDefault(policy => policy.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
            return known ?? Error<string?>(name, text, LoadBalancingPolicyNames.UnknownMessage(text), null, prefixed: false);
        }

        public ProxyProtocolVersion ProxyProtocol()
        {
            if (!TryGet(ProxyProtocolAnnotation, out var name, out var text))
            {
                return ProxyProtocolVersion.None;
            }

            return text.Trim() switch
            {
                var value when value.Equals("v1", StringComparison.OrdinalIgnoreCase) => ProxyProtocolVersion.V1,
                var value when value.Equals("v2", StringComparison.OrdinalIgnoreCase) => ProxyProtocolVersion.V2,
                _ => Error(name, text, "must be \"v1\" or \"v2\" (leave the annotation out for none)", ProxyProtocolVersion.None),
            };
        }

        private TimeSpan? ParseDuration(string name, string text)
        {
            if (!TryParseDuration(text, out var value))
            {
                return Error<TimeSpan?>(name, text, "is not a duration such as 10s or 500ms", null);
            }

            if (value <= TimeSpan.Zero)
            {
                return Error<TimeSpan?>(name, text, "must be longer than zero", null);
            }

            if (value > MaxDuration)
            {
                return Error<TimeSpan?>(name, text, $"must be at most {Describe(MaxDuration)}", null);
            }

            return value;
        }

        /// <summary>Ours first; the original's key only for the annotations the original had.</summary>
        private bool TryGet(string key, out string name, out string text)
        {
            name = key;
            if (annotations.TryGetValue(key, out text!))
            {
                return true;
            }

            name = OriginalPrefix + key[ServiceAnnotations.Prefix.Length..];
            return IsOriginal(key) && annotations.TryGetValue(name, out text!);
        }

        private static bool IsOriginal(string key) =>
            key is HealthCheckEnabled or HealthCheckType or HealthCheckPath or HealthCheckInterval or HealthCheckTimeout;

        private T Error<T>(string name, string text, string problem, T fallback, bool prefixed = true)
        {
            var message = prefixed ? $"{QuotedValue.Of(text)} {problem}" : problem;
            Errors.Add(new ValidationError(name, text, $"annotation {name}: {message}"));
            return fallback;
        }
    }
}

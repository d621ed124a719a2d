using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;

namespace LoadBalancer.Application.Tests.Services;

public sealed class ForwardingAnnotationsTests
{
    [Fact]
    public void Read_NoAnnotations_GivesTheDefaultsAndNoPolicy()
    {
        var read = ForwardingAnnotations.Read(null);

        Assert.Equal(HealthCheckSettings.Default, read.HealthCheck);
        Assert.Null(read.Policy);
        Assert.Empty(read.Errors);
    }

    [Fact]
    public void Read_UnrelatedAnnotations_GiveTheDefaults()
    {
        var read = Read(("littlelb.io/sharing-key", "dns"), ("example.com/owner", "team-a"));

        Assert.Equal(HealthCheckSettings.Default, read.HealthCheck);
        Assert.Empty(read.Errors);
    }

    [Fact]
    public void Read_EveryAnnotationGood_IsRead()
    {
        var read = Read(
            ("littlelb.io/health-check-enabled", "true"),
            ("littlelb.io/health-check-type", "http"),
            ("littlelb.io/health-check-path", "/healthz"),
            ("littlelb.io/health-check-interval", "30s"),
            ("littlelb.io/health-check-timeout", "1500ms"),
            ("littlelb.io/health-check-healthy-threshold", "1"),
            ("littlelb.io/health-check-unhealthy-threshold", "10"),
            ("littlelb.io/balancing-policy", "least-connections"));

        Assert.Empty(read.Errors);
        Assert.Equal(
            new HealthCheckSettings
            {
                Enabled = true,
                Type = HealthCheckType.Http,
                Path = "/healthz",
                Interval = TimeSpan.FromSeconds(30),
                Timeout = TimeSpan.FromMilliseconds(1500),
                HealthyThreshold = 1,
                UnhealthyThreshold = 10,
            },
            read.HealthCheck);
        Assert.Equal(LoadBalancingPolicyNames.LeastConnections, read.Policy);
    }

    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m", 60_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("15", 15_000)]
    [InlineData("2.5", 2_500)]
    [InlineData("0.5s", 500)]
    [InlineData(" 20s ", 20_000)]
    public void Read_Interval_AcceptsDurationsWithAUnitOrBareSeconds(string value, int milliseconds)
    {
        var read = Read(("littlelb.io/health-check-interval", value));

        Assert.Empty(read.Errors);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), read.HealthCheck.Interval);
    }

    [Theory]
    [InlineData("ten", "'ten' is not a duration such as 10s or 500ms")]
    [InlineData("10 s", "'10 s' is not a duration such as 10s or 500ms")]
    [InlineData("-5s", "'-5s' is not a duration such as 10s or 500ms")]
    [InlineData("1e3", "'1e3' is not a duration such as 10s or 500ms")]
    [InlineData("10S", "'10S' is not a duration such as 10s or 500ms")]
    [InlineData("s", "'s' is not a duration such as 10s or 500ms")]
    [InlineData("", "'' is not a duration such as 10s or 500ms")]
    [InlineData("0s", "'0s' must be longer than zero")]
    [InlineData("25h", "'25h' must be at most 24h")]
    [InlineData("99999999999999999999h", "'99999999999999999999h' must be at most 24h")]
    public void Read_IntervalNotAPositiveDuration_IsAnErrorNamingAnnotationAndValue(string value, string problem)
    {
        var read = Read(("littlelb.io/health-check-interval", value));

        var error = Assert.Single(read.Errors);
        Assert.Equal($"annotation littlelb.io/health-check-interval: {problem}", error.Message);
        Assert.Equal(("littlelb.io/health-check-interval", value), (error.Field, error.AttemptedValue));
        Assert.Equal(HealthCheckSettings.Default.Interval, read.HealthCheck.Interval);
    }

    [Fact]
    public void Read_TimeoutLongerThanTheInterval_IsAnErrorAndTheTimeoutFitsTheInterval()
    {
        var read = Read(("littlelb.io/health-check-interval", "3s"), ("littlelb.io/health-check-timeout", "4s"));

        var error = Assert.Single(read.Errors);
        Assert.Equal("annotation littlelb.io/health-check-timeout: '4s' must not exceed the interval (3s)", error.Message);
        Assert.Equal((TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3)), (read.HealthCheck.Interval, read.HealthCheck.Timeout));
    }

    [Fact]
    public void Read_TimeoutLongerThanAnIntervalOfMilliseconds_NamesTheIntervalInMilliseconds()
    {
        var read = Read(("littlelb.io/health-check-interval", "1500ms"), ("littlelb.io/health-check-timeout", "2s"));

        Assert.Equal("annotation littlelb.io/health-check-timeout: '2s' must not exceed the interval (1500ms)", Assert.Single(read.Errors).Message);
    }

    [Fact]
    public void Read_TimeoutEqualToTheInterval_IsAccepted()
    {
        var read = Read(("littlelb.io/health-check-interval", "3s"), ("littlelb.io/health-check-timeout", "3000ms"));

        Assert.Empty(read.Errors);
        Assert.Equal(TimeSpan.FromSeconds(3), read.HealthCheck.Timeout);
    }

    [Fact]
    public void Read_IntervalShorterThanTheDefaultTimeout_ShortensTheTimeoutWithoutAnError()
    {
        var read = Read(("littlelb.io/health-check-interval", "2s"));

        Assert.Empty(read.Errors);
        Assert.Equal(TimeSpan.FromSeconds(2), read.HealthCheck.Timeout);
    }

    [Fact]
    public void Read_TimeoutAloneWithinTheDefaultInterval_IsRead()
    {
        var read = Read(("littlelb.io/health-check-timeout", "750ms"));

        Assert.Empty(read.Errors);
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(750)), (read.HealthCheck.Interval, read.HealthCheck.Timeout));
    }

    [Theory]
    [InlineData("tcp", HealthCheckType.Tcp)]
    [InlineData("TCP", HealthCheckType.Tcp)]
    [InlineData("http", HealthCheckType.Http)]
    [InlineData("HTTP", HealthCheckType.Http)]
    public void Read_Type_IsReadIgnoringCase(string value, HealthCheckType expected)
    {
        var read = Read(("littlelb.io/health-check-type", value));

        Assert.Empty(read.Errors);
        Assert.Equal(expected, read.HealthCheck.Type);
    }

    [Theory]
    [InlineData("littlelb.io/health-check-type", "https", "'https' must be \"tcp\" or \"http\"")]
    [InlineData("littlelb.io/health-check-enabled", "yes", "'yes' must be \"true\" or \"false\"")]
    [InlineData("littlelb.io/health-check-path", "healthz", "'healthz' must start with '/'")]
    [InlineData("littlelb.io/health-check-path", "/a b", "'/a b' must be printable ASCII without spaces (percent-encode anything else)")]
    [InlineData("littlelb.io/health-check-path", "/ok\r\nHost: evil", "'/ok\\r\\nHost: evil' must be printable ASCII without spaces (percent-encode anything else)")]
    [InlineData("littlelb.io/health-check-path", "/caf\u00e9", "'/caf\u00e9' must be printable ASCII without spaces (percent-encode anything else)")]
    [InlineData("littlelb.io/health-check-healthy-threshold", "0", "'0' must be a whole number from 1 to 10")]
    [InlineData("littlelb.io/health-check-healthy-threshold", "11", "'11' must be a whole number from 1 to 10")]
    [InlineData("littlelb.io/health-check-unhealthy-threshold", "-1", "'-1' must be a whole number from 1 to 10")]
    [InlineData("littlelb.io/health-check-unhealthy-threshold", "2.5", "'2.5' must be a whole number from 1 to 10")]
    [InlineData("littlelb.io/health-check-timeout", "soon", "'soon' is not a duration such as 10s or 500ms")]
    [InlineData("littlelb.io/balancing-policy", "random", "unknown balancing policy 'random'; known policies: round-robin, least-connections, power-of-two, source-hash")]
    public void Read_BadValue_IsAnErrorNamingAnnotationAndValueAndTheDefaultStands(string annotation, string value, string problem)
    {
        var read = Read((annotation, value));

        var error = Assert.Single(read.Errors);
        Assert.Equal($"annotation {annotation}: {problem}", error.Message);
        Assert.Equal((annotation, value), (error.Field, error.AttemptedValue));
        Assert.Equal(HealthCheckSettings.Default, read.HealthCheck);
        Assert.Null(read.Policy);
    }

    [Fact]
    public void Read_TenKibValue_IsShortenedWithItsLengthInTheMessage()
    {
        var value = new string('a', 10 * 1024);

        var error = Assert.Single(Read(("littlelb.io/balancing-policy", value)).Errors);

        Assert.StartsWith($"annotation littlelb.io/balancing-policy: unknown balancing policy '{value[..120]}…' (10240 characters);", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 400, error.Message);
    }

    [Fact]
    public void Read_SeveralBadValues_ReportsThemAllAndKeepsTheGoodOnes()
    {
        var read = Read(
            ("littlelb.io/health-check-type", "udp"),
            ("littlelb.io/health-check-interval", "ten"),
            ("littlelb.io/health-check-unhealthy-threshold", "5"),
            ("littlelb.io/health-check-healthy-threshold", "many"),
            ("littlelb.io/balancing-policy", "fastest"));

        Assert.Equal(
            [
                "littlelb.io/health-check-type",
                "littlelb.io/health-check-interval",
                "littlelb.io/health-check-healthy-threshold",
                "littlelb.io/balancing-policy",
            ],
            read.Errors.Select(error => error.Field));
        Assert.Equal(HealthCheckSettings.Default with { UnhealthyThreshold = 5 }, read.HealthCheck);
    }

    [Theory]
    [InlineData("source-hash")]
    [InlineData("Source-Hash")]
    [InlineData(" power-of-two ")]
    public void Read_Policy_IsReadAsItsCanonicalName(string value)
    {
        var read = Read(("littlelb.io/balancing-policy", value));

        Assert.Empty(read.Errors);
        Assert.Equal(value.Trim().ToUpperInvariant(), read.Policy?.ToUpperInvariant());
        Assert.True(LoadBalancingPolicyNames.IsKnown(read.Policy));
    }

    [Fact]
    public void Read_OriginalAnnotationsOnly_AreAccepted()
    {
        var read = Read(
            ("loadbalancer.example.com/health-check-enabled", "false"),
            ("loadbalancer.example.com/health-check-type", "http"),
            ("loadbalancer.example.com/health-check-path", "/ready"),
            ("loadbalancer.example.com/health-check-interval", "20s"),
            ("loadbalancer.example.com/health-check-timeout", "2s"));

        Assert.Empty(read.Errors);
        Assert.Equal(
            HealthCheckSettings.Default with
            {
                Enabled = false,
                Type = HealthCheckType.Http,
                Path = "/ready",
                Interval = TimeSpan.FromSeconds(20),
                Timeout = TimeSpan.FromSeconds(2),
            },
            read.HealthCheck);
    }

    [Fact]
    public void Read_OursAndTheOriginalsBoth_OursWins()
    {
        var read = Read(
            ("loadbalancer.example.com/health-check-path", "/theirs"),
            ("littlelb.io/health-check-path", "/ours"),
            ("loadbalancer.example.com/health-check-interval", "20s"),
            ("littlelb.io/health-check-interval", "40s"));

        Assert.Empty(read.Errors);
        Assert.Equal(("/ours", TimeSpan.FromSeconds(40)), (read.HealthCheck.Path, read.HealthCheck.Interval));
    }

    [Fact]
    public void Read_OriginalAnnotationBad_TheErrorNamesTheOriginalAnnotation()
    {
        var read = Read(("loadbalancer.example.com/health-check-interval", "often"));

        var error = Assert.Single(read.Errors);
        Assert.Equal("annotation loadbalancer.example.com/health-check-interval: 'often' is not a duration such as 10s or 500ms", error.Message);
    }

    [Fact]
    public void Read_OriginalPrefixForAnAnnotationTheOriginalDidNotHave_IsIgnored()
    {
        var read = Read(("loadbalancer.example.com/health-check-healthy-threshold", "7"), ("loadbalancer.example.com/balancing-policy", "random"));

        Assert.Empty(read.Errors);
        Assert.Equal(HealthCheckSettings.Default, read.HealthCheck);
        Assert.Null(read.Policy);
    }

    public static TheoryData<string[], bool> ProbeChoices => new()
    {
        { [], false },
        { ["littlelb.io/sharing-key=dns"], false },
        { ["littlelb.io/health-check-interval=2s", "littlelb.io/health-check-unhealthy-threshold=1", "littlelb.io/health-check-enabled=false"], false },
        { ["littlelb.io/health-check-type=tcp"], true },
        { ["littlelb.io/health-check-type=HTTP"], true },
        { ["littlelb.io/health-check-path=/ready"], true },
        { ["loadbalancer.example.com/health-check-type=http"], true },
        { ["littlelb.io/health-check-type=grpc"], false },
        { ["littlelb.io/health-check-path=ready"], false },
        { ["littlelb.io/health-check-type=grpc", "littlelb.io/health-check-path=/ready"], true },
        { ["littlelb.io/health-check-type=http", "littlelb.io/health-check-path=ready"], true },
    };

    [Theory]
    [MemberData(nameof(ProbeChoices))]
    public void ChoosesProbe_OnlyAUsableTypeOrPathCounts(string[] annotations, bool expected)
    {
        var dictionary = annotations.Select(text => text.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1]);

        Assert.Equal(expected, ForwardingAnnotations.ChoosesProbe(dictionary));
    }

    [Theory]
    [InlineData("5s", 5_000)]
    [InlineData("2m", 120_000)]
    [InlineData("750ms", 750)]
    public void Read_UdpFlowIdleTimeout_IsRead(string text, int milliseconds)
    {
        var read = Read(("littlelb.io/udp-flow-idle-timeout", text));

        Assert.Empty(read.Errors);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), read.UdpFlowIdleTimeout);
    }

    [Fact]
    public void Read_NoUdpFlowIdleTimeout_LeavesTheForwardersDefault()
    {
        Assert.Null(Read(("littlelb.io/balancing-policy", "round-robin")).UdpFlowIdleTimeout);
    }

    [Theory]
    [InlineData("soon", "'soon' is not a duration such as 10s or 500ms")]
    [InlineData("0s", "'0s' must be longer than zero")]
    [InlineData("48h", "'48h' must be at most 24h")]
    public void Read_UdpFlowIdleTimeoutBad_IsAnErrorNamingAnnotationAndValue_AndTheDefaultApplies(string text, string problem)
    {
        var read = Read(("littlelb.io/udp-flow-idle-timeout", text));

        var error = Assert.Single(read.Errors);
        Assert.Equal($"annotation littlelb.io/udp-flow-idle-timeout: {problem}", error.Message);
        Assert.Null(read.UdpFlowIdleTimeout);
    }

    [Fact]
    public void Read_NoProxyProtocolAnnotation_IsNone()
    {
        Assert.Equal(ProxyProtocolVersion.None, ForwardingAnnotations.Read(null).ProxyProtocol);
        Assert.Equal(ProxyProtocolVersion.None, Read(("littlelb.io/balancing-policy", "round-robin")).ProxyProtocol);
    }

    [Theory]
    [InlineData("v1", ProxyProtocolVersion.V1)]
    [InlineData("V1", ProxyProtocolVersion.V1)]
    [InlineData("v2", ProxyProtocolVersion.V2)]
    [InlineData(" V2 ", ProxyProtocolVersion.V2)]
    public void Read_ProxyProtocol_IsReadInAnyCase(string value, ProxyProtocolVersion expected)
    {
        var read = Read(("littlelb.io/proxy-protocol", value));

        Assert.Empty(read.Errors);
        Assert.Equal(expected, read.ProxyProtocol);
    }

    [Theory]
    [InlineData("v3")]
    [InlineData("true")]
    [InlineData("2")]
    [InlineData("")]
    [InlineData("none")]
    public void Read_ProxyProtocolBad_IsAnErrorNamingTheAnnotationAndValue_AndNoneStands(string value)
    {
        var read = Read(("littlelb.io/proxy-protocol", value), ("littlelb.io/balancing-policy", "least-connections"));

        var error = Assert.Single(read.Errors);
        Assert.Equal("littlelb.io/proxy-protocol", error.Field);
        Assert.Equal(
            $"annotation littlelb.io/proxy-protocol: '{value}' must be \"v1\" or \"v2\" (leave the annotation out for none)",
            error.Message);
        Assert.Equal(ProxyProtocolVersion.None, read.ProxyProtocol);
        Assert.Equal(LoadBalancingPolicyNames.LeastConnections, read.Policy);
    }

    [Fact]
    public void Read_ProxyProtocolUnderTheOriginalPrefix_IsIgnored()
    {
        var read = Read(("loadbalancer.example.com/proxy-protocol", "v2"));

        Assert.Empty(read.Errors);
        Assert.Equal(ProxyProtocolVersion.None, read.ProxyProtocol);
    }

    private static ForwardingAnnotations Read(params (string Key, string Value)[] annotations) =>
        ForwardingAnnotations.Read(annotations.ToDictionary(annotation => annotation.Key, annotation => annotation.Value));
}

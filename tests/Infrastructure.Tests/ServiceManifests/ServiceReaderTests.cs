using k8s.Models;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.ServiceManifests;
using static LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping.ClusterObjects;

namespace LoadBalancer.Infrastructure.Tests.ServiceManifests;

public sealed class ServiceReaderTests
{
    [Theory]
    [InlineData(DateTimeKind.Utc)]
    [InlineData(DateTimeKind.Unspecified)]
    [InlineData(DateTimeKind.Local)]
    public void Read_CreationTimestamp_IsTheSameInstantWhateverTheKind(DateTimeKind kind)
    {
        var utc = new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        var service = Service();
        service.Metadata.CreationTimestamp = kind switch
        {
            DateTimeKind.Local => utc.ToLocalTime(),
            _ => DateTime.SpecifyKind(utc, kind),
        };

        var reading = Read(service);

        Assert.Equal(new DateTimeOffset(utc), reading.Spec.CreatedAt);
        Assert.Equal(TimeSpan.Zero, reading.Spec.CreatedAt.Offset);
    }

    [Fact]
    public void Read_Service_CarriesIdentityPortsLoadBalancerIpAndAnnotations()
    {
        var service = Service(ports: [Port("http", 80), Port(null, 53, protocol: "UDP"), Port("plain", 8080, protocol: null!)]);
        service.Spec.LoadBalancerIP = "192.0.2.10";
        service.Metadata.Annotations["littlelb.io/sharing-key"] = "team-a";

        var reading = Read(service);

        Assert.Equal(new ServiceKey("shop", "web"), reading.Spec.Key);
        // A port without a protocol is TCP, as the API server defaults it.
        Assert.Equal([new ServicePortSpec("TCP", 80, "http"), new ServicePortSpec("UDP", 53, null), new ServicePortSpec("TCP", 8080, "plain")], reading.Spec.Ports);
        Assert.Equal("192.0.2.10", reading.Spec.LoadBalancerIp);
        Assert.Equal("team-a", reading.Spec.SharingKey);
        Assert.Equal("team-a", reading.Annotations!["littlelb.io/sharing-key"]);
        Assert.Empty(reading.Warnings);
    }

    [Theory]
    [InlineData("littlelb.io/lb", "littlelb.io/lb")]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Read_LoadBalancerClass_IsCarried_AndEmptyIsNone(string? written, string? expected)
    {
        var service = Service();
        service.Spec.LoadBalancerClass = written;

        Assert.Equal(expected, Read(service).Spec.LoadBalancerClass);
    }

    [Fact]
    public void Read_EmptyLoadBalancerIp_AsksForNoParticularAddress()
    {
        var service = Service();
        service.Spec.LoadBalancerIP = "";

        Assert.Null(Read(service).Spec.LoadBalancerIp);
    }

    [Fact]
    public void Read_NoNamespace_IsTheDefaultNamespace_AndNoTimestampIsDefault()
    {
        var service = Service(ns: "");

        var reading = Read(service);

        Assert.Equal(ServiceReader.DefaultNamespace, reading.Spec.Namespace);
        Assert.Equal("default", ServiceReader.DefaultNamespace);
        Assert.Equal(new ServiceKey("default", "web"), ServiceReader.KeyOf(service));
        Assert.Equal(default, reading.Spec.CreatedAt);
    }

    [Fact]
    public void Read_NoName_IsNull()
    {
        var service = Service();
        service.Metadata.Name = "";

        Assert.Null(ServiceReader.Read(service, LoadBalancingPolicyNames.Default));
    }

    public static TheoryData<string, string, string> UnusableAnnotations => new()
    {
        // annotation, value, warning
        { "littlelb.io/health-check-enabled", "perhaps", "annotation littlelb.io/health-check-enabled: 'perhaps' must be \"true\" or \"false\"" },
        { "littlelb.io/health-check-interval", "soon", "annotation littlelb.io/health-check-interval: 'soon' is not a duration such as 10s or 500ms" },
        { "littlelb.io/balancing-policy", "random", "annotation littlelb.io/balancing-policy: unknown balancing policy 'random'; known policies: round-robin, least-connections, power-of-two, source-hash" },
        { "littlelb.io/exclusive-ip", "maybe", "annotation littlelb.io/exclusive-ip: 'maybe' must be \"true\" or \"false\"" },
        { "littlelb.io/sharing-key", " team-a", "annotation littlelb.io/sharing-key: ' team-a' must be 1-" },
    };

    [Theory]
    [MemberData(nameof(UnusableAnnotations))]
    public void Read_UnusableAnnotation_IsAWarningAndTheDefaultStandsIn(string annotation, string value, string warning)
    {
        var service = Service();
        service.Metadata.Annotations[annotation] = value;

        var reading = Read(service);

        Assert.StartsWith(warning, Assert.Single(reading.Warnings), StringComparison.Ordinal);
        Assert.Equal(LoadBalancingPolicyNames.Default, reading.Policy);
        Assert.Equal(HealthCheckSettings.Default, reading.HealthCheck);
        Assert.Null(reading.Spec.SharingKey);
        Assert.False(reading.Spec.ExclusiveIp);
    }

    [Fact]
    public void Read_SharingKeyOnAnExclusiveIp_IsAWarningAndTheKeyIsDropped()
    {
        var service = Service();
        service.Metadata.Annotations["littlelb.io/sharing-key"] = "team-a";
        service.Metadata.Annotations["littlelb.io/exclusive-ip"] = "true";

        var reading = Read(service);

        Assert.True(reading.Spec.ExclusiveIp);
        Assert.Null(reading.Spec.SharingKey);
        Assert.Equal(["annotation littlelb.io/sharing-key: 'team-a' is ignored: littlelb.io/exclusive-ip is \"true\", and an exclusive IP is never shared"], reading.Warnings);
    }

    public static TheoryData<string?, string?, string, int> Policies => new()
    {
        // annotation, sessionAffinity, policy, warnings. ClientIP puts a table in front of the policy and leaves the policy be.
        { null, null, LoadBalancingPolicyNames.PowerOfTwo, 0 },
        { null, "None", LoadBalancingPolicyNames.PowerOfTwo, 0 },
        { null, "ClientIP", LoadBalancingPolicyNames.PowerOfTwo, 0 },
        { "source-hash", "ClientIP", LoadBalancingPolicyNames.SourceHash, 0 },
        { "least-connections", "ClientIP", LoadBalancingPolicyNames.LeastConnections, 0 },
        { null, "Cookie", LoadBalancingPolicyNames.PowerOfTwo, 1 },
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public void Read_Policy_AnnotationThenTheGivenDefault_WhateverTheSessionAffinity(string? annotation, string? affinity, string expected, int warnings)
    {
        var service = Service();
        service.Spec.SessionAffinity = affinity;
        if (annotation is not null)
        {
            service.Metadata.Annotations["littlelb.io/balancing-policy"] = annotation;
        }

        var reading = ServiceReader.Read(service, LoadBalancingPolicyNames.PowerOfTwo)!;

        Assert.Equal(expected, reading.Policy);
        Assert.Equal(warnings, reading.Warnings.Count);
    }

    public static TheoryData<string?, int?, int?> AffinityTimeouts => new()
    {
        // sessionAffinity, timeoutSeconds, affinity timeout in seconds (null: no affinity)
        { null, null, null },
        { "None", null, null },
        { "ClientIP", null, 10_800 },
        { "ClientIP", 60, 60 },
        { "ClientIP", 1, 1 },
        { "ClientIP", 86_400, 86_400 },
    };

    [Theory]
    [MemberData(nameof(AffinityTimeouts))]
    public void Read_ClientIpAffinity_TakesTheTimeoutOfSessionAffinityConfig_ElseKubernetesDefault(string? affinity, int? timeoutSeconds, int? expected)
    {
        var service = Service();
        service.Spec.SessionAffinity = affinity;
        if (timeoutSeconds is not null)
        {
            service.Spec.SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = timeoutSeconds } };
        }

        var reading = Read(service);

        Assert.Equal(expected is { } seconds ? TimeSpan.FromSeconds(seconds) : null, reading.AffinityTimeout);
        Assert.Empty(reading.Warnings);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(86_401)]
    public void Read_AffinityTimeoutOutOfRange_IsAWarningNamingFieldAndValue_AndTheDefaultApplies(int timeoutSeconds)
    {
        var service = Service();
        service.Spec.SessionAffinity = "ClientIP";
        service.Spec.SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = timeoutSeconds } };

        var reading = Read(service);

        Assert.Equal(TimeSpan.FromSeconds(10_800), reading.AffinityTimeout);
        Assert.Equal([$"spec.sessionAffinityConfig.clientIP.timeoutSeconds: '{timeoutSeconds}' must be from 1 to 86400 seconds; the default 10800 applies"], reading.Warnings);
    }

    [Fact]
    public void Read_AffinityConfigWithoutClientIpAffinity_IsIgnoredWithAWarning()
    {
        var service = Service();
        service.Spec.SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = 60 } };

        var reading = Read(service);

        Assert.Null(reading.AffinityTimeout);
        Assert.Equal(["spec.sessionAffinityConfig: ignored, as spec.sessionAffinity is not ClientIP"], reading.Warnings);
    }

    [Fact]
    public void Read_UnknownSessionAffinity_IsAWarningNamingTheField()
    {
        var service = Service();
        service.Spec.SessionAffinity = "Cookie";

        Assert.Equal(["spec.sessionAffinity: 'Cookie' must be None or ClientIP"], Read(service).Warnings);
    }

    [Fact]
    public void Read_SpecProblems_AreNotJudged_TheAllocationRequestValidatesThem()
    {
        var service = Service(ports: [Port("http", 70000), Port("sctp", 80, protocol: "SCTP")]);
        service.Spec.LoadBalancerIP = "10.0.0.300";

        var reading = Read(service);

        Assert.Empty(reading.Warnings);
        Assert.Equal("10.0.0.300", reading.Spec.LoadBalancerIp);
        Assert.Equal([new ServicePortSpec("TCP", 70000, "http"), new ServicePortSpec("SCTP", 80, "sctp")], reading.Spec.Ports);
    }

    [Fact]
    public void Read_NullPortEntry_IsPortZero_AndTheOtherPortsKeepTheirIndices()
    {
        // An empty "- " entry of a hand-written file: reading it must not throw (the file source would stop).
        var service = Service(ports: [null!, Port("http", 80)]);

        var reading = Read(service);

        Assert.Equal([new ServicePortSpec("TCP", 0), new ServicePortSpec("TCP", 80, "http")], reading.Spec.Ports);
    }

    [Fact]
    public void Read_NoSpec_HasNoPortsAndNoWarnings()
    {
        var service = new V1Service { Metadata = new V1ObjectMeta { Name = "web" } };

        var reading = Read(service);

        Assert.Empty(reading.Spec.Ports);
        Assert.Empty(reading.Warnings);
        Assert.Null(reading.Annotations);
    }

    [Fact]
    public void Read_PoolAnnotationAndLabels_AreCarriedToTheSpec()
    {
        var service = Service();
        service.Metadata.Annotations["littlelb.io/pool"] = " lan ";
        service.Metadata.Labels = new Dictionary<string, string> { ["tier"] = "frontend" };

        var reading = Read(service);

        Assert.Equal("lan", reading.Spec.Pool);
        Assert.Equal("frontend", reading.Spec.Labels!["tier"]);
        Assert.Equal("lan", reading.Spec.ToRequest().Pool);
        Assert.Empty(reading.Warnings);
    }

    [Fact]
    public void Read_BlankPoolAnnotation_IsAWarningAndAsksForNoPool()
    {
        var service = Service();
        service.Metadata.Annotations["littlelb.io/pool"] = " ";

        var reading = Read(service);

        Assert.Null(reading.Spec.Pool);
        Assert.Null(reading.Spec.Labels);
        Assert.Equal(["annotation littlelb.io/pool: ' ' is blank; the Service gets an IP as if it asked for no pool"], reading.Warnings);
    }

    [Fact]
    public void Read_UdpFlowIdleTimeout_IsCarried_AndABadOneIsAWarningWithTheDefault()
    {
        var service = Service();
        service.Metadata.Annotations["littlelb.io/udp-flow-idle-timeout"] = "2m";
        Assert.Equal(TimeSpan.FromMinutes(2), Read(service).UdpFlowIdleTimeout);

        service.Metadata.Annotations["littlelb.io/udp-flow-idle-timeout"] = "forever";
        var reading = Read(service);
        Assert.Null(reading.UdpFlowIdleTimeout);
        Assert.Equal(["annotation littlelb.io/udp-flow-idle-timeout: 'forever' is not a duration such as 10s or 500ms"], reading.Warnings);
    }

    private static ServiceReading Read(V1Service service) =>
        ServiceReader.Read(service, LoadBalancingPolicyNames.Default) ?? throw new InvalidOperationException("the test Service has a name");
}

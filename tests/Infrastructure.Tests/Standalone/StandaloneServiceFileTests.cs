using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Standalone;

namespace LoadBalancer.Infrastructure.Tests.Standalone;

public sealed class StandaloneServiceFileTests
{
    private const string Web = """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          annotations:
            littlelb.io/backends: "127.0.0.1:9001, 127.0.0.1:9002"
        spec:
          type: LoadBalancer
          ports:
            - name: http
              port: 80
        """;

    [Fact]
    public void Parse_OneService_MapsSpecBackendsAndDefaults()
    {
        var file = StandaloneServiceFile.Parse(Web);

        Assert.True(file.Succeeded, string.Join("; ", file.Problems));
        var service = Assert.Single(file.Services);
        Assert.Equal(new ServiceKey("default", "web"), service.Key);
        Assert.Equal("TCP", Assert.Single(service.Spec.Ports).Protocol);
        Assert.Null(service.Spec.LoadBalancerIp);
        Assert.Equal(LoadBalancingPolicyNames.RoundRobin, service.Policy);
        Assert.Equal(HealthCheckSettings.Default, service.HealthCheck);
        var backends = Assert.Single(service.Backends);
        Assert.Equal(ServicePort.Tcp(80), backends.Port);
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002"], backends.Endpoints.Select(endpoint => endpoint.ToString()));
    }

    [Fact]
    public void Parse_MultiDocument_ReadsServicesAndSkipsOthersWithANote()
    {
        var yaml = $"""
            # comment before the first document
            ---
            {Web}
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: internal
              namespace: shop
            spec:
              ports:
                - port: 80
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: app
            spec:
              selector:
                matchLabels:
                  app: x
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: dns
              namespace: shop
              annotations:
                littlelb.io/backends: 10.0.0.1
                littlelb.io/backends.metrics: 10.0.0.2:9100
                littlelb.io/balancing-policy: least-connections
            spec:
              type: LoadBalancer
              loadBalancerIP: ""
              sessionAffinity: ClientIP
              ports:
                - name: dns
                  port: 53
                  targetPort: 5353
                  protocol: TCP
                - name: metrics
                  port: 9100
            ---
            """;

        var file = StandaloneServiceFile.Parse(yaml);

        Assert.True(file.Succeeded, string.Join("; ", file.Problems));
        Assert.Equal(["default/web", "shop/dns"], file.Services.Select(service => service.Key.ToString()));
        Assert.Equal(
            [
                "(text):15: shop/internal: spec.type ClusterIP skipped; only type LoadBalancer is served",
                "(text):24: kind Deployment skipped; only Services are read",
            ],
            file.Notes);
        var dns = file.Services[1];
        Assert.Null(dns.Spec.LoadBalancerIp);
        Assert.Equal(LoadBalancingPolicyNames.LeastConnections, dns.Policy);
        Assert.Equal(["53: 10.0.0.1:5353", "9100: 10.0.0.2:9100"],
            dns.Backends.Select(backends => $"{backends.Port}: {string.Join(", ", backends.Endpoints)}"));
    }

    [Fact]
    public void Parse_SessionAffinityClientIp_KeepsThePolicy_AndTakesTheTimeoutOfSessionAffinityConfig()
    {
        var yaml = Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 600", StringComparison.Ordinal);

        var file = StandaloneServiceFile.Parse(yaml);

        Assert.True(file.Succeeded, string.Join("; ", file.Problems));
        var service = Assert.Single(file.Services);
        Assert.Equal(LoadBalancingPolicyNames.Default, service.Policy);
        Assert.Equal(TimeSpan.FromSeconds(600), service.AffinityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(600), service.ToCommand().AffinityTimeout);
    }

    [Fact]
    public void Parse_SessionAffinityClientIpWithoutConfig_HasKubernetesDefaultTimeout()
    {
        var file = StandaloneServiceFile.Parse(Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinity: ClientIP", StringComparison.Ordinal));

        Assert.Equal(TimeSpan.FromSeconds(10_800), Assert.Single(file.Services).AffinityTimeout);
    }

    [Fact]
    public void Parse_AffinityTimeoutNotANumber_IsAnErrorNamingFieldValueAndLine()
    {
        var yaml = Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 3h", StringComparison.Ordinal);

        var file = StandaloneServiceFile.Parse(yaml);

        Assert.False(file.Succeeded);
        var problem = Assert.Single(file.Problems);
        Assert.Equal("spec.sessionAffinityConfig.clientIP.timeoutSeconds", problem.Field);
        Assert.Equal("3h", problem.Value);
        Assert.Contains("'3h' is not a number; a timeout is a whole number of seconds from 1 to 86400", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AffinityConfigMisspelt_IsAnUnknownFieldNamingTheRightOne()
    {
        var yaml = Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIp:\n      timeoutSeconds: 60", StringComparison.Ordinal);

        var file = StandaloneServiceFile.Parse(yaml);

        Assert.False(file.Succeeded);
        Assert.Equal("spec.sessionAffinityConfig.clientIp", Assert.Single(file.Problems).Field);
    }

    [Fact]
    public void Parse_NoPolicyAsked_UsesTheGivenDefault()
    {
        var file = StandaloneServiceFile.Parse(Web, new StandaloneFileOptions { DefaultPolicy = LoadBalancingPolicyNames.PowerOfTwo });

        Assert.Equal(LoadBalancingPolicyNames.PowerOfTwo, Assert.Single(file.Services).Policy);
    }

    [Fact]
    public void Parse_SharingAndHealthAnnotations_AreRead()
    {
        var yaml = Web.Replace("    littlelb.io/backends:", """
                littlelb.io/sharing-key: team-a
                littlelb.io/health-check-interval: 2s
                littlelb.io/backends:
            """.TrimEnd(), StringComparison.Ordinal);

        var service = Assert.Single(StandaloneServiceFile.Parse(yaml).Services);

        Assert.Equal("team-a", service.Spec.SharingKey);
        Assert.Equal(TimeSpan.FromSeconds(2), service.HealthCheck.Interval);
    }

    public static TheoryData<string, string, string> FileErrors => new()
    {
        { "  name: web\n", "", "(text):3: metadata.name: missing; every Service needs a name" },
        { "apiVersion: v1\n", "apiVersion: v2\n", "(text):1: apiVersion: 'v2' must be v1 for a Service" },
        { "kind: Service\n", "", "(text):1: kind: missing; a Service needs 'apiVersion: v1' and 'kind: Service'" },
    };

    [Theory]
    [MemberData(nameof(FileErrors))]
    public void Parse_DocumentThatCannotBeRead_IsAnErrorNamingDocumentAndField(string find, string replace, string expected)
    {
        var yaml = Web.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(Web, yaml);

        var file = StandaloneServiceFile.Parse(yaml);

        Assert.False(file.Succeeded);
        Assert.Empty(file.Services);
        Assert.Equal([expected], file.Problems.Select(problem => problem.ToString()));
    }

    public static TheoryData<string, string, string> Warnings => new()
    {
        { "  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinity: Cookie", "spec.sessionAffinity: 'Cookie' must be None or ClientIP" },
        { "  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 60", "spec.sessionAffinityConfig: ignored, as spec.sessionAffinity is not ClientIP" },
        { "  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 0", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: '0' must be from 1 to 86400 seconds; the default 10800 applies" },
        { "    littlelb.io/backends:", "    littlelb.io/backends.https: 127.0.0.1:1\n    littlelb.io/backends:", "annotation littlelb.io/backends.https: names no port of the Service (ports: http/80)" },
        { "    littlelb.io/backends:", "    littlelb.io/balancing-policy: random\n    littlelb.io/backends:", "annotation littlelb.io/balancing-policy: unknown balancing policy 'random'; known policies: round-robin, least-connections, power-of-two, source-hash" },
        { "    littlelb.io/backends:", "    littlelb.io/exclusive-ip: maybe\n    littlelb.io/backends:", "annotation littlelb.io/exclusive-ip: 'maybe' must be \"true\" or \"false\"" },
        { "    littlelb.io/backends:", "    littlelb.io/health-check-interval: soon\n    littlelb.io/backends:", "annotation littlelb.io/health-check-interval: 'soon' is not a duration such as 10s or 500ms" },
    };

    [Theory]
    [MemberData(nameof(Warnings))]
    public void Parse_UnusableValue_IsAWarningNamingFieldAndValue_AndTheServiceIsServedWithTheDefault(string find, string replace, string expected)
    {
        var yaml = Web.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(Web, yaml);

        var file = StandaloneServiceFile.Parse(yaml);

        Assert.True(file.Succeeded, string.Join("; ", file.Problems));
        var service = Assert.Single(file.Services);
        Assert.Equal([expected], service.Warnings);
        Assert.Equal(LoadBalancingPolicyNames.Default, service.Policy);
        Assert.Equal(HealthCheckSettings.Default, service.HealthCheck);
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002"], Assert.Single(service.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
    }

    public static TheoryData<string, string> BadBackendEntries => new()
    {
        { "127.0.0.999:9002", "annotation littlelb.io/backends: '127.0.0.999:9002': invalid IP address: '127.0.0.999'" },
        { "127.0.0.1:0", "annotation littlelb.io/backends: '127.0.0.1:0': port '0' must be a number from 1 to 65535" },
        { "[::1", "annotation littlelb.io/backends: '[::1' is not IP:PORT ([v6]:PORT for IPv6)" },
    };

    [Theory]
    [MemberData(nameof(BadBackendEntries))]
    public void Parse_BadBackendEntry_IsAWarning_AndTheServiceIsServedWithoutIt(string entry, string expected)
    {
        var yaml = Web.Replace("127.0.0.1:9002", entry, StringComparison.Ordinal);
        Assert.NotEqual(Web, yaml);

        var file = StandaloneServiceFile.Parse(yaml);

        Assert.True(file.Succeeded, string.Join("; ", file.Problems));
        var service = Assert.Single(file.Services);
        Assert.Equal([expected], service.Warnings);
        Assert.Equal(["127.0.0.1:9001"], Assert.Single(service.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
    }

    [Fact]
    public void Parse_NoBackendsAnnotation_ServesThePortWithoutBackends_AndTheReasonNamesTheAnnotation()
    {
        var file = StandaloneServiceFile.Parse(Web.Replace("    littlelb.io/backends: \"127.0.0.1:9001, 127.0.0.1:9002\"", "    littlelb.io/other: x", StringComparison.Ordinal));

        var service = Assert.Single(file.Services);
        Assert.Empty(service.Backends.SelectMany(port => port.Endpoints));
        Assert.Empty(service.Warnings);
        Assert.Equal("none listed in the annotation littlelb.io/backends (or littlelb.io/backends.PORT)", service.NoBackendsReason);
    }

    public static TheoryData<string, string> SpecProblems => new()
    {
        // The allocation request validates the spec and the reconciler reports it on the Service: the file stays usable.
        { "  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerIP: 10.0.0.300" },
        { "port: 80", "port: 0" },
        { "port: 80", "port: 70000" },
        { "port: 80", "port: 80\n      protocol: SCTP" },
        { "  name: api", "  name: Api" },
        { "  name: api", "  name: api\n  namespace: My_Ns" },
    };

    [Theory]
    [MemberData(nameof(SpecProblems))]
    public void Parse_SpecProblem_IsNotAFileError_TheServiceGoesToTheReconcilerAsWritten(string find, string replace)
    {
        var api = Web.Replace("name: web", "name: api", StringComparison.Ordinal);
        var broken = api.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(api, broken);

        var file = StandaloneServiceFile.Parse($"{Web}\n---\n{broken}");

        Assert.True(file.Succeeded, string.Join("; ", file.Problems));
        Assert.Equal(2, file.Services.Count);
        Assert.Empty(file.Services[1].Warnings);
    }

    [Fact]
    public void Parse_PortOutOfRange_IsKeptInTheSpec_ButGetsNoBackends()
    {
        var file = StandaloneServiceFile.Parse(Web.Replace("port: 80", "port: 0", StringComparison.Ordinal));

        var service = Assert.Single(file.Services);
        Assert.Equal(0, Assert.Single(service.Spec.Ports).Port);
        Assert.Empty(service.Backends);
    }

    [Fact]
    public void Parse_EmptyPortEntry_IsNotAFileError_ItIsAPortTheAllocationRequestRejects()
    {
        // "- " with nothing after it is a null entry in hand-written YAML; the API server never sends one.
        var yaml = Web.Replace("    - name: http\n      port: 80", "    -\n    - name: http\n      port: 80", StringComparison.Ordinal);
        Assert.NotEqual(Web, yaml);

        var file = StandaloneServiceFile.Parse(yaml);

        Assert.True(file.Succeeded, string.Join("; ", file.Problems));
        var service = Assert.Single(file.Services);
        Assert.Equal([0, 80], service.Spec.Ports.Select(port => port.Port));
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002"], Assert.Single(service.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
    }

    [Fact]
    public void Parse_ServiceOfAnotherClass_IsSkippedWithANote_AndServedWhenTheClassIsOurs()
    {
        var yaml = Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerClass: example.com/other-lb", StringComparison.Ordinal);

        var skipped = StandaloneServiceFile.Parse(yaml);
        var ours = StandaloneServiceFile.Parse(yaml, new StandaloneFileOptions { LoadBalancerClass = "example.com/other-lb" });

        Assert.True(skipped.Succeeded);
        Assert.Empty(skipped.Services);
        Assert.Equal(["(text):1: default/web: skipped; its spec.loadBalancerClass 'example.com/other-lb' is not ours (none configured)"], skipped.Notes);
        Assert.Equal(new ServiceKey("default", "web"), Assert.Single(ours.Services).Key);
    }

    [Fact]
    public void Parse_IgnoreUnclassed_SkipsAServiceWithoutAClassWithANote()
    {
        var file = StandaloneServiceFile.Parse(Web, new StandaloneFileOptions { ServeUnclassed = false });

        Assert.Empty(file.Services);
        Assert.Equal(["(text):1: default/web: skipped; it has no spec.loadBalancerClass and unclassed Services are ignored (--ignore-unclassed)"], file.Notes);
    }

    [Fact]
    public void Parse_MisspeltField_IsAnUnknownFieldWithItsPathLineAndTheFieldMeant()
    {
        var file = StandaloneServiceFile.Parse(Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerIp: 127.0.100.9", StringComparison.Ordinal));

        Assert.Empty(file.Services);
        Assert.Equal(["(text):9: spec.loadBalancerIp: unknown field 'loadBalancerIp'; did you mean 'loadBalancerIP'?"], file.Problems.Select(problem => problem.ToString()));
    }

    [Fact]
    public void Parse_SameServiceTwice_IsAnErrorNamingTheFirst()
    {
        var file = StandaloneServiceFile.Parse($"{Web}\n---\n{Web}");

        Assert.Equal(["(text):16: metadata.name: Service default/web is already defined at line 4"], file.Problems.Select(problem => problem.ToString()));
    }

    [Fact]
    public void Parse_EmptyFile_HasNoServicesAndNoErrors()
    {
        var file = StandaloneServiceFile.Parse("# nothing yet\n---\n");

        Assert.True(file.Succeeded);
        Assert.Empty(file.Services);
    }

    [Fact]
    public void SameAs_EqualContentInNewLists_IsTrue_AndADifferentBackendIsNot()
    {
        var first = Assert.Single(StandaloneServiceFile.Parse(Web).Services);
        var second = Assert.Single(StandaloneServiceFile.Parse(Web).Services);
        var third = Assert.Single(StandaloneServiceFile.Parse(Web.Replace("9002", "9003", StringComparison.Ordinal)).Services);

        Assert.True(first.SameAs(second));
        Assert.False(first.SameAs(third));
    }
}

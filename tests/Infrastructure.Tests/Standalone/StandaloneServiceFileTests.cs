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

        Assert.True(file.Succeeded, string.Join("; ", file.Errors));
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

        Assert.True(file.Succeeded, string.Join("; ", file.Errors));
        Assert.Equal(["default/web", "shop/dns"], file.Services.Select(service => service.Key.ToString()));
        Assert.Equal(
            [
                "document 2 (shop/internal): spec.type ClusterIP skipped; only type LoadBalancer is served",
                "document 3 (line 24): kind Deployment skipped; only Services are read",
            ],
            file.Notes);
        var dns = file.Services[1];
        Assert.Null(dns.Spec.LoadBalancerIp);
        Assert.Equal(LoadBalancingPolicyNames.LeastConnections, dns.Policy);
        Assert.Equal(["53: 10.0.0.1:5353", "9100: 10.0.0.2:9100"],
            dns.Backends.Select(backends => $"{backends.Port}: {string.Join(", ", backends.Endpoints)}"));
    }

    [Fact]
    public void Parse_SessionAffinityClientIp_ChoosesSourceHash()
    {
        var file = StandaloneServiceFile.Parse(Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinity: ClientIP", StringComparison.Ordinal));

        Assert.Equal(LoadBalancingPolicyNames.SourceHash, Assert.Single(file.Services).Policy);
    }

    [Fact]
    public void Parse_NoPolicyAsked_UsesTheGivenDefault()
    {
        var file = StandaloneServiceFile.Parse(Web, LoadBalancingPolicyNames.PowerOfTwo);

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

    public static TheoryData<string, string, string> BadFields => new()
    {
        { "  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerIP: 10.0.0.300", "document 1 (default/web): spec.loadBalancerIP: loadBalancerIP: invalid IP address: 10.0.0.300" },
        { "port: 80", "port: 70000", "document 1 (default/web): spec.ports[0].port: port 70000 must be between 1 and 65535" },
        { "port: 80", "port: 80\n      protocol: SCTP", "document 1 (default/web): spec.ports[0].protocol: protocol 'SCTP' of port 80 must be TCP or UDP" },
        { "  name: web", "  name: Web", "document 1 (default/Web): metadata.name: name 'Web' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit" },
        { "  name: web", "  name: web\n  namespace: My_Ns", "document 1 (My_Ns/web): metadata.namespace: namespace 'My_Ns' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit" },
        { "  type: LoadBalancer", "  type: LoadBalancer\n  sessionAffinity: Cookie", "document 1 (default/web): spec.sessionAffinity: 'Cookie' must be None or ClientIP" },
        { "\"127.0.0.1:9001, 127.0.0.1:9002\"", "\"127.0.0.1:9001, 127.0.0.999:9002\"", "document 1 (default/web): annotation littlelb.io/backends: '127.0.0.999:9002': invalid IP address: 127.0.0.999" },
        { "\"127.0.0.1:9001, 127.0.0.1:9002\"", "\"127.0.0.1:0\"", "document 1 (default/web): annotation littlelb.io/backends: '127.0.0.1:0': port '0' must be a number from 1 to 65535" },
        { "\"127.0.0.1:9001, 127.0.0.1:9002\"", "\" , \"", "document 1 (default/web): annotation littlelb.io/backends: ' , ' lists no backends" },
        { "    littlelb.io/backends: \"127.0.0.1:9001, 127.0.0.1:9002\"", "    littlelb.io/other: x", "document 1 (default/web): spec.ports[0] (port 80): no backends; add the annotation littlelb.io/backends or littlelb.io/backends.http, e.g. \"127.0.0.1:9001,127.0.0.1:9002\"" },
        { "    littlelb.io/backends:", "    littlelb.io/backends.https: 127.0.0.1:1\n    littlelb.io/backends:", "document 1 (default/web): annotation littlelb.io/backends.https: names no port of the Service (ports: http/80)" },
        { "    littlelb.io/backends:", "    littlelb.io/balancing-policy: random\n    littlelb.io/backends:", "document 1 (default/web): annotation littlelb.io/balancing-policy: unknown balancing policy 'random'; known policies: round-robin, least-connections, power-of-two, source-hash" },
        { "    littlelb.io/backends:", "    littlelb.io/exclusive-ip: maybe\n    littlelb.io/backends:", "document 1 (default/web): annotation littlelb.io/exclusive-ip: 'maybe' must be \"true\" or \"false\"" },
        { "  name: web\n", "", "document 1 (line 1): metadata.name: missing" },
        { "apiVersion: v1\n", "apiVersion: v2\n", "document 1 (default/web): apiVersion: 'v2' must be v1 for a Service" },
        { "kind: Service\n", "", "document 1 (line 1): kind: missing; a Service needs 'apiVersion: v1' and 'kind: Service'" },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Parse_BadField_IsAnErrorNamingDocumentServiceFieldAndValue(string find, string replace, string expected)
    {
        var file = StandaloneServiceFile.Parse(Web.Replace(find, replace, StringComparison.Ordinal));

        Assert.False(file.Succeeded);
        Assert.Empty(file.Services);
        Assert.Contains(file.Errors, error => error.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_MisspeltField_IsAnErrorWithItsLine()
    {
        var file = StandaloneServiceFile.Parse(Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerIp: 127.0.100.9", StringComparison.Ordinal));

        var error = Assert.Single(file.Errors);
        Assert.StartsWith("document 1 (default/web): (Line: 9", error, StringComparison.Ordinal);
        Assert.Contains("loadBalancerIp", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PortThatIsNotANumber_IsAnErrorWithTheLineOfTheSecondDocument()
    {
        var file = StandaloneServiceFile.Parse($"{Web}\n---\n{Web.Replace("name: web", "name: api", StringComparison.Ordinal).Replace("port: 80", "port: eighty", StringComparison.Ordinal)}");

        var error = Assert.Single(file.Errors);
        Assert.StartsWith("document 2 (default/api): (Line: 23", error, StringComparison.Ordinal);
        Assert.Contains("eighty", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BrokenYaml_IsAnError()
    {
        var file = StandaloneServiceFile.Parse("apiVersion: v1\nkind: Service\nmetadata: [unclosed\n");

        Assert.StartsWith("document 1 (line 1): ", Assert.Single(file.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SameServiceTwice_IsAnError()
    {
        var file = StandaloneServiceFile.Parse($"{Web}\n---\n{Web}");

        Assert.Equal(["document 2 (default/web): metadata.name: Service default/web is already defined in document 1"], file.Errors);
    }

    [Fact]
    public void Parse_OneBadServiceAmongGoodOnes_FailsTheWholeFile()
    {
        var file = StandaloneServiceFile.Parse($"{Web}\n---\n{Web.Replace("name: web", "name: api", StringComparison.Ordinal).Replace("port: 80", "port: 0", StringComparison.Ordinal)}");

        Assert.False(file.Succeeded);
        Assert.Equal(["document 2 (default/api): spec.ports[0].port: port 0 must be between 1 and 65535"], file.Errors);
    }

    [Fact]
    public void Parse_EmptyFile_HasNoServicesAndNoErrors()
    {
        var file = StandaloneServiceFile.Parse("# nothing yet\n---\n");

        Assert.True(file.Succeeded);
        Assert.Empty(file.Services);
    }

    [Fact]
    public async Task ReadAsync_MissingFile_IsAnErrorNamingThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"littlelb-missing-{Guid.NewGuid():N}.yaml");

        var file = await StandaloneServiceFile.ReadAsync(path, LoadBalancingPolicyNames.Default, CancellationToken.None);

        Assert.StartsWith($"{path}: cannot read the file: ", Assert.Single(file.Errors), StringComparison.Ordinal);
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

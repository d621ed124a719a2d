using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Allocation;

public sealed class ServiceSpecValidatorTests
{
    private const string LabelRule = "must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit";

    private readonly ServiceSpecValidator _validator = new();

    [Fact]
    public void Validate_CompleteValidSpec_HasNoErrors()
    {
        var spec = new ServiceSpec("kube-system", "dns-1", [Tcp(53), Udp(53), new("tcp", 8080, "metrics")],
            LoadBalancerIp: "192.168.0.230", SharingKey: "team-a", CreatedAt: DateTimeOffset.UnixEpoch);

        var result = _validator.Validate(spec);

        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("kube-system")]
    [InlineData("1-a")]
    [InlineData("a--b")]
    public void Validate_NamespaceIsDnsLabel_IsAccepted(string ns)
    {
        var result = _validator.Validate(Spec("web") with { Namespace = ns });

        Assert.Empty(result.Errors);
    }

    [Fact]
    public void Validate_NamespaceOf63Characters_IsAccepted()
    {
        var result = _validator.Validate(Spec("web") with { Namespace = new string('a', 63) });

        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Default")]
    [InlineData("-web")]
    [InlineData("web-")]
    [InlineData("my_ns")]
    [InlineData("my.ns")]
    [InlineData(" web")]
    [InlineData("wéb")]
    public void Validate_NamespaceNotDnsLabel_IsRejectedNamingFieldAndValue(string ns)
    {
        var result = _validator.Validate(Spec("web") with { Namespace = ns });

        var error = Assert.Single(result.Errors);
        Assert.Equal(nameof(ServiceSpec.Namespace), error.PropertyName);
        Assert.Equal($"namespace '{ns}' {LabelRule}", error.ErrorMessage);
    }

    [Fact]
    public void Validate_NamespaceOf64Characters_IsRejected()
    {
        var ns = new string('a', 64);

        var result = _validator.Validate(Spec("web") with { Namespace = ns });

        var error = Assert.Single(result.Errors);
        Assert.Equal($"namespace '{ns}' {LabelRule}", error.ErrorMessage);
    }

    [Fact]
    public void Validate_NullNamespace_IsRejected()
    {
        var result = _validator.Validate(Spec("web") with { Namespace = null! });

        var error = Assert.Single(result.Errors);
        Assert.Equal($"namespace (none) {LabelRule}", error.ErrorMessage);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Web")]
    [InlineData("web-")]
    [InlineData("-web")]
    [InlineData("web_1")]
    public void Validate_NameNotDnsLabel_IsRejectedNamingFieldAndValue(string name)
    {
        var result = _validator.Validate(Spec("web") with { Name = name });

        var error = Assert.Single(result.Errors);
        Assert.Equal(nameof(ServiceSpec.Name), error.PropertyName);
        Assert.Equal($"name '{name}' {LabelRule}", error.ErrorMessage);
    }

    [Fact]
    public void Validate_NameOf64Characters_IsRejectedAnd63IsAccepted()
    {
        var tooLong = _validator.Validate(Spec("web") with { Name = new string('x', 64) });
        var longest = _validator.Validate(Spec("web") with { Name = new string('x', 63) });

        Assert.Single(tooLong.Errors);
        Assert.Empty(longest.Errors);
    }

    [Fact]
    public void Validate_NullPorts_IsRejected()
    {
        var result = _validator.Validate(Spec("web") with { Ports = null! });

        var error = Assert.Single(result.Errors);
        Assert.Equal(nameof(ServiceSpec.Ports), error.PropertyName);
        Assert.Equal("ports: a Service of type LoadBalancer needs at least one port", error.ErrorMessage);
    }

    [Fact]
    public void Validate_NoPorts_IsRejected()
    {
        var result = _validator.Validate(Spec("web") with { Ports = [] });

        var error = Assert.Single(result.Errors);
        Assert.Equal("ports: 0 ports given; a Service of type LoadBalancer needs at least one", error.ErrorMessage);
    }

    [Fact]
    public void Validate_ManyPorts_AreAccepted_AsKubernetesSetsNoLimit()
    {
        // More than an EndpointSlice holds (100), in both protocols: the whole list is one Service's.
        var result = _validator.Validate(Spec("web") with
        {
            Ports = [.. Enumerable.Range(1000, 300).Select(port => new ServicePortSpec("TCP", port)), .. Enumerable.Range(1000, 300).Select(port => new ServicePortSpec("UDP", port))],
        });

        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65535)]
    public void Validate_PortAtEitherEndOfRange_IsAccepted(int port)
    {
        var result = _validator.Validate(Spec("web", port));

        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    public void Validate_PortOutOfRange_IsRejectedNamingValue(int port)
    {
        var result = _validator.Validate(Spec("web", 443, port));

        var error = Assert.Single(result.Errors);
        Assert.Equal("Ports[1].Port", error.PropertyName);
        Assert.Equal($"port {port} must be between 1 and 65535", error.ErrorMessage);
    }

    [Theory]
    [InlineData("TCP")]
    [InlineData("UDP")]
    [InlineData("tcp")]
    [InlineData("Udp")]
    public void Validate_TcpOrUdpInAnyCase_IsAccepted(string protocol)
    {
        var result = _validator.Validate(Spec("web") with { Ports = [new(protocol, 80)] });

        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData("SCTP")]
    [InlineData("HTTP")]
    [InlineData(" TCP")]
    public void Validate_OtherProtocol_IsRejectedNamingValue(string protocol)
    {
        var result = _validator.Validate(Spec("web") with { Ports = [new(protocol, 80)] });

        var error = Assert.Single(result.Errors);
        Assert.Equal("Ports[0].Protocol", error.PropertyName);
        Assert.Equal($"protocol '{protocol}' of port 80 must be TCP or UDP", error.ErrorMessage);
    }

    [Fact]
    public void Validate_NoProtocol_IsTcp_AsTheApiServerDefaultsIt()
    {
        var result = _validator.Validate(Spec("web") with { Ports = [new(null!, 80), new("", 81)] });

        Assert.Empty(result.Errors);
        Assert.Equal([ServicePort.Tcp(80), ServicePort.Tcp(81)], (Spec("web") with { Ports = [new(null!, 80), new("", 81)] }).ToRequest().Ports);
    }

    [Fact]
    public void Validate_NullPortEntry_IsRejected()
    {
        // A standalone file can hold "ports": [..., null]. A spec that passes must convert to a domain request, and
        // ToRequest() dereferences every port, so a null entry has to be reported here.
        var spec = Spec("web") with { Ports = [Tcp(80), null!] };

        var result = _validator.Validate(spec);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("Ports", error.PropertyName, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SamePortAndProtocolTwice_IsRejectedNamingThePort()
    {
        var result = _validator.Validate(Spec("web", 80, 443, 80));

        var error = Assert.Single(result.Errors);
        Assert.Equal(nameof(ServiceSpec.Ports), error.PropertyName);
        Assert.Equal("ports: TCP 80 listed more than once", error.ErrorMessage);
    }

    [Fact]
    public void Validate_SamePortTwiceInDifferentCase_IsRejected()
    {
        var result = _validator.Validate(Spec("web") with { Ports = [new("tcp", 80), new("TCP", 80)] });

        var error = Assert.Single(result.Errors);
        Assert.Equal("ports: TCP 80 listed more than once", error.ErrorMessage);
    }

    [Fact]
    public void Validate_SeveralRepeatedPorts_AreAllNamedInOneError()
    {
        var result = _validator.Validate(Spec("dns") with { Ports = [Udp(53), Tcp(80), Udp(53), Tcp(80), Tcp(443)] });

        var error = Assert.Single(result.Errors);
        Assert.Equal("ports: UDP 53, TCP 80 listed more than once", error.ErrorMessage);
    }

    [Fact]
    public void Validate_TcpAndUdpOnSamePortNumber_IsAccepted()
    {
        var result = _validator.Validate(Spec("dns") with { Ports = [Tcp(53), Udp(53)] });

        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData("192.168.0.230")]
    [InlineData("2001:db8::1")]
    [InlineData("::ffff:192.168.0.230")]
    public void Validate_ParseableLoadBalancerIp_IsAccepted(string ip)
    {
        var result = _validator.Validate(Spec("web") with { LoadBalancerIp = ip });

        Assert.Empty(result.Errors);
    }

    [Fact]
    public void Validate_OutOfRangeOctetInLoadBalancerIp_IsRejectedWithOperatorsWording()
    {
        var result = _validator.Validate(Spec("web") with { LoadBalancerIp = "300.1.1.1" });

        var error = Assert.Single(result.Errors);
        Assert.Equal(nameof(ServiceSpec.LoadBalancerIp), error.PropertyName);
        Assert.Equal("loadBalancerIP: invalid IP address: '300.1.1.1'", error.ErrorMessage);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.1")]
    [InlineData("0x0a000001")]
    [InlineData("010.0.0.1")]
    [InlineData(" 10.0.0.1")]
    [InlineData("192.0.2.1 ")]
    [InlineData("fe80::1%eth0")]
    [InlineData("web.example.com")]
    public void Validate_UnparseableLoadBalancerIp_IsRejectedNamingValue(string ip)
    {
        var result = _validator.Validate(Spec("web") with { LoadBalancerIp = ip });

        var error = Assert.Single(result.Errors);
        Assert.Equal($"loadBalancerIP: invalid IP address: '{ip}'", error.ErrorMessage);
    }

    [Fact]
    public void Validate_SharingKeyOf253Characters_IsAccepted()
    {
        var result = _validator.Validate(Spec("web") with { SharingKey = new string('k', 253) });

        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(" key")]
    [InlineData("key ")]
    public void Validate_BlankOrPaddedSharingKey_IsRejectedNamingValue(string key)
    {
        var result = _validator.Validate(Spec("web") with { SharingKey = key });

        var error = Assert.Single(result.Errors);
        Assert.Equal(nameof(ServiceSpec.SharingKey), error.PropertyName);
        Assert.Equal($"sharing key '{key}' must be 1-253 characters without surrounding spaces", error.ErrorMessage);
    }

    [Fact]
    public void Validate_SharingKeyOf254Characters_IsRejected()
    {
        var key = new string('k', 254);

        var result = _validator.Validate(Spec("web") with { SharingKey = key });

        var error = Assert.Single(result.Errors);
        Assert.Equal($"sharing key '{key[..120]}…' (254 characters) must be 1-253 characters without surrounding spaces", error.ErrorMessage);
    }

    [Fact]
    public void Validate_ExclusiveWithoutSharingKey_IsAccepted()
    {
        var result = _validator.Validate(Spec("web") with { ExclusiveIp = true });

        Assert.Empty(result.Errors);
    }

    [Fact]
    public void Validate_ExclusiveWithSharingKey_IsRejected()
    {
        var result = _validator.Validate(Spec("web") with { ExclusiveIp = true, SharingKey = "team-a" });

        var error = Assert.Single(result.Errors);
        Assert.Equal("exclusiveIp", error.PropertyName);
        Assert.Equal("exclusive IP and sharing key 'team-a' cannot both be set: an exclusive IP is never shared", error.ErrorMessage);
    }

    [Fact]
    public void Validate_SpecWithEveryKindOfProblem_ReportsAllOfThemAtOnce()
    {
        var spec = new ServiceSpec("My_NS", "", [new("SCTP", 0), Tcp(80), Tcp(80)],
            LoadBalancerIp: "300.1.1.1", SharingKey: " team", ExclusiveIp: true);

        var result = _validator.Validate(spec);

        Assert.Equal(
            [
                ("Namespace", $"namespace 'My_NS' {LabelRule}"),
                ("Name", $"name '' {LabelRule}"),
                ("Ports[0].Protocol", "protocol 'SCTP' of port 0 must be TCP or UDP"),
                ("Ports[0].Port", "port 0 must be between 1 and 65535"),
                ("Ports", "ports: TCP 80 listed more than once"),
                ("LoadBalancerIp", "loadBalancerIP: invalid IP address: '300.1.1.1'"),
                ("SharingKey", "sharing key ' team' must be 1-253 characters without surrounding spaces"),
                ("exclusiveIp", "exclusive IP and sharing key ' team' cannot both be set: an exclusive IP is never shared"),
            ],
            result.Errors.Select(error => (error.PropertyName, error.ErrorMessage)));
    }

    [Fact]
    public void Validate_ManyBadPorts_ReportsEachPort()
    {
        var spec = Spec("web") with { Ports = [new("SCTP", 80), new("tcp", 70000), new("QUIC", 443)] };

        var result = _validator.Validate(spec);

        Assert.Equal(
            [
                "protocol 'SCTP' of port 80 must be TCP or UDP",
                "port 70000 must be between 1 and 65535",
                "protocol 'QUIC' of port 443 must be TCP or UDP",
            ],
            result.Errors.Select(error => error.ErrorMessage));
    }

    [Fact]
    public void ToRequest_SpecThatPassedValidation_BuildsDomainRequest()
    {
        var spec = Spec("web") with { Ports = [Tcp(443), Udp(53), new("tcp", 80)], LoadBalancerIp = "::ffff:192.168.0.230" };
        Assert.Empty(_validator.Validate(spec).Errors);

        var request = spec.ToRequest();

        Assert.Equal(["53/UDP", "80", "443"], request.Ports.Select(port => port.ToString()));
        Assert.Equal(Ip("192.168.0.230"), request.RequestedIp);
    }

    [Fact]
    public void Validate_PoolThatCannotBeAPoolName_NamesTheAnnotation()
    {
        var result = _validator.Validate(Spec("web") with { Pool = "Lan" });

        var error = Assert.Single(result.Errors);
        Assert.Equal(
            "metadata.annotations[\"littlelb.io/pool\"]: pool 'Lan' is not a pool name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
            ServiceSpecFields.Describe(ValidationError.From(error)));
    }

    [Fact]
    public void AsksSameAs_EqualLabelsInAnotherDictionary_IsTheSameRequest()
    {
        var spec = Spec("web") with { Pool = "lan", Labels = new Dictionary<string, string> { ["tier"] = "web" } };

        Assert.True(spec.AsksSameAs(spec with { Labels = new Dictionary<string, string> { ["tier"] = "web" } }));
        Assert.False(spec.AsksSameAs(spec with { Labels = new Dictionary<string, string> { ["tier"] = "db" } }));
        Assert.False(spec.AsksSameAs(spec with { Pool = null }));
    }
}

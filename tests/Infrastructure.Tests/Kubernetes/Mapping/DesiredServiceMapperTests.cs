using k8s.Models;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using static LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping.ClusterObjects;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping;

public sealed class DesiredServiceMapperTests
{
    private static readonly KubernetesServiceOptions NodePortsMode = new();
    private static readonly KubernetesServiceOptions EndpointsMode = new() { Backends = BackendMode.Endpoints };

    /// <summary>What the reconciler is told when a NodePorts Service has no backend, and when an endpoints one has none.</summary>
    private const string FromNodePorts = "no ready worker node (or ready endpoint)";
    private const string FromEndpoints = "no ready endpoint";

    /// <summary>Maps a Service that has a name, so the result is never null.</summary>
    private static DesiredService Map(V1Service service, IReadOnlyCollection<V1Node>? nodes = null, IReadOnlyCollection<V1EndpointSlice>? slices = null, KubernetesServiceOptions? options = null) =>
        new DesiredServiceMapper(options ?? NodePortsMode).Map(service, nodes ?? [], slices ?? [])
            ?? throw new InvalidOperationException("a Service with a name maps to a desired Service");

    private static string Text(PortBackends backends) => $"{backends.Port}: {string.Join(", ", backends.Endpoints)}";

    /// <summary>"80: 10.0.0.1:30080, 10.0.0.2:30080" per port.</summary>
    private static List<string> BackendTexts(DesiredService result) => [.. result.Backends.Select(Text)];

    private static List<ServicePort> PortsWithoutBackends(DesiredService result) =>
        [.. result.Backends.Where(port => port.Endpoints.Count == 0).Select(port => port.Port)];

    private static bool NoBackends(DesiredService result) => result.Backends.All(port => port.Endpoints.Count == 0);

    // ---- the Service itself -------------------------------------------------------------------------------------

    [Fact]
    public void Map_Service_CarriesIdentityPortsCreationTimeAndDefaults()
    {
        var service = Service(ports: [Port("http", 80, 30080), Port("dns", 53, 30053, protocol: "UDP")]);
        service.Metadata.CreationTimestamp = new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        service.Spec.LoadBalancerIP = "";

        var result = Map(service, [Node("w1", "10.0.0.1")]);

        var spec = result.Spec;
        Assert.Equal(new ServiceKey("shop", "web"), result.Key);
        Assert.Null(spec.LoadBalancerIp);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero), spec.CreatedAt);
        Assert.Equal([new ServicePortSpec("TCP", 80, "http"), new ServicePortSpec("UDP", 53, "dns")], spec.Ports);
        Assert.Equal(LoadBalancingPolicyNames.Default, result.Policy);
        Assert.Equal(HealthCheckSettings.Default, result.HealthCheck);
        Assert.Equal(["80: 10.0.0.1:30080", "53/UDP: 10.0.0.1:30053"], result.Backends.Select(Text));
        Assert.Empty(PortsWithoutBackends(result));
        Assert.Empty(result.Warnings);
        Assert.Empty(result.BackendNotes);
        Assert.Equal(FromNodePorts, result.NoBackendsReason);
    }

    [Fact]
    public void Map_LoadBalancerIpAndAnnotations_AreRead()
    {
        var service = Service();
        service.Spec.LoadBalancerIP = "192.168.1.240";
        service.Metadata.Annotations["littlelb.io/sharing-key"] = "team-a";
        service.Metadata.Annotations["littlelb.io/health-check-type"] = "http";
        service.Metadata.Annotations["littlelb.io/health-check-path"] = "/healthz";

        var result = Map(service, [Node("w1", "10.0.0.1")]);

        Assert.Equal("192.168.1.240", result.Spec.LoadBalancerIp);
        Assert.Equal("team-a", result.Spec.SharingKey);
        Assert.Equal(HealthCheckType.Http, result.HealthCheck.Type);
        Assert.Equal("/healthz", result.HealthCheck.Path);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Map_ProxyProtocolAnnotation_IsCarried_AndABadOneIsAWarning()
    {
        var service = Service();
        service.Metadata.Annotations["littlelb.io/proxy-protocol"] = "V1";
        Assert.Equal(ProxyProtocolVersion.V1, Map(service, [Node("w1", "10.0.0.1")]).ProxyProtocol);

        service.Metadata.Annotations["littlelb.io/proxy-protocol"] = "yes";
        var result = Map(service, [Node("w1", "10.0.0.1")]);

        Assert.Equal(ProxyProtocolVersion.None, result.ProxyProtocol);
        Assert.Equal(["annotation littlelb.io/proxy-protocol: 'yes' must be \"v1\" or \"v2\" (leave the annotation out for none)"], result.Warnings);
    }

    public static TheoryData<string?, string?, string> Policies => new()
    {
        // annotation, sessionAffinity, policy
        { null, null, LoadBalancingPolicyNames.PowerOfTwo },
        { null, "None", LoadBalancingPolicyNames.PowerOfTwo },
        { null, "ClientIP", LoadBalancingPolicyNames.PowerOfTwo },
        { "least-connections", "ClientIP", LoadBalancingPolicyNames.LeastConnections },
        { "round-robin", null, LoadBalancingPolicyNames.RoundRobin },
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public void Map_Policy_AnnotationThenSessionAffinityThenDefault(string? annotation, string? affinity, string expected)
    {
        var service = Service();
        service.Spec.SessionAffinity = affinity;
        if (annotation is not null)
        {
            service.Metadata.Annotations["littlelb.io/balancing-policy"] = annotation;
        }

        var result = Map(service, [Node("w1", "10.0.0.1")], options: NodePortsMode with { DefaultPolicy = LoadBalancingPolicyNames.PowerOfTwo });

        Assert.Equal(expected, result.Policy);
        // The command the reconciler sends carries what the mapping chose.
        Assert.Equal(expected, result.ToCommand().Policy);
        Assert.Equal(affinity == "ClientIP" ? TimeSpan.FromSeconds(10_800) : null, result.ToCommand().AffinityTimeout);
    }

    public static TheoryData<string, string> UnusableValues => new()
    {
        { "sessionAffinity", "spec.sessionAffinity: 'Cookie' must be None or ClientIP" },
        { "policy", "annotation littlelb.io/balancing-policy: unknown balancing policy 'random'; known policies: round-robin, least-connections, power-of-two, source-hash" },
        { "exclusive", "annotation littlelb.io/exclusive-ip: 'maybe' must be \"true\" or \"false\"" },
        { "interval", "annotation littlelb.io/health-check-interval: 'soon' is not a duration such as 10s or 500ms" },
    };

    [Theory]
    [MemberData(nameof(UnusableValues))]
    public void Map_UnusableAnnotationOrAffinity_IsAWarningNamingFieldAndValue_AndTheServiceIsStillServed(string field, string expected)
    {
        var service = Service();
        switch (field)
        {
            case "sessionAffinity": service.Spec.SessionAffinity = "Cookie"; break;
            case "policy": service.Metadata.Annotations["littlelb.io/balancing-policy"] = "random"; break;
            case "exclusive": service.Metadata.Annotations["littlelb.io/exclusive-ip"] = "maybe"; break;
            case "interval": service.Metadata.Annotations["littlelb.io/health-check-interval"] = "soon"; break;
            default: throw new ArgumentOutOfRangeException(nameof(field), field, null);
        }

        var result = Map(service, [Node("w1", "10.0.0.1")]);

        Assert.Equal([expected], result.Warnings);
        Assert.Equal(LoadBalancingPolicyNames.Default, result.Policy);
        Assert.Equal(HealthCheckSettings.Default, result.HealthCheck);
        Assert.False(result.Spec.ExclusiveIp);
        Assert.Equal(["80: 10.0.0.1:30080"], BackendTexts(result));
    }

    [Fact]
    public void Map_SpecProblems_AreLeftInTheSpecForTheAllocationRequest_AndOnlyUsablePortsGetBackends()
    {
        // The allocation request validates the spec once and reports it in its words; the mapping must neither refuse
        // the Service (the core would then release it silently) nor find backends for a port that cannot be served.
        var service = Service(ports:
        [
            Port("http", 80, 30080),
            Port("sctp", 81, 30081, protocol: "SCTP"),
            Port("huge", 70000, 30082),
            Port("again", 80, 30083),
        ]);
        service.Spec.LoadBalancerIP = "10.0.0.300";

        var result = Map(service, [Node("w1", "10.0.0.1")]);

        Assert.Equal("10.0.0.300", result.Spec.LoadBalancerIp);
        Assert.Equal([80, 81, 70000, 80], result.Spec.Ports.Select(port => port.Port));
        Assert.Equal(["80: 10.0.0.1:30080"], BackendTexts(result));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Map_NoPorts_IsAServiceWithoutPortsOrBackends()
    {
        var service = Service();
        service.Spec.Ports = [];

        var result = Map(service, [Node("w1", "10.0.0.1")]);

        Assert.Empty(result.Spec.Ports);
        Assert.Empty(result.Backends);
    }

    [Fact]
    public void Map_NoName_IsNull()
    {
        var service = Service();
        service.Metadata.Name = null;

        Assert.Null(new DesiredServiceMapper(NodePortsMode).Map(service, [Node("w1", "10.0.0.1")], []));
    }

    // ---- NodePorts ----------------------------------------------------------------------------------------------

    [Fact]
    public void Map_NodePorts_ReadyWorkersOnly_DeletingAndNotReadyAndNonWorkersLeftOut_CordonedKept()
    {
        var deleting = Node("w-deleting", "10.0.0.4");
        deleting.Metadata.DeletionTimestamp = DateTime.UtcNow;
        var cordoned = Node("w-cordoned", "10.0.0.5");
        cordoned.Spec = new V1NodeSpec { Unschedulable = true };
        var noConditions = Node("w-new", "10.0.0.6");
        noConditions.Status.Conditions = null;
        var controlPlane = Node("cp", "10.0.0.9", labels: new Dictionary<string, string> { ["node-role.kubernetes.io/control-plane"] = "" });

        var result = Map(Service(), [Node("w2", "10.0.0.2"), Node("w1", "10.0.0.1"), Node("w-notready", "10.0.0.3", ready: false), deleting, cordoned, noConditions, controlPlane]);

        Assert.Equal(["80: 10.0.0.1:30080, 10.0.0.2:30080, 10.0.0.5:30080"], BackendTexts(result));
        Assert.Equal(["w1", "w2", "w-cordoned"], result.Backends[0].Endpoints.Select(endpoint => endpoint.NodeName));
    }

    public static TheoryData<string, string[]> Selectors => new()
    {
        { "", ["10.0.0.1", "10.0.0.2", "10.0.0.3"] },
        { "node-role.kubernetes.io/worker", ["10.0.0.1", "10.0.0.2"] },
        { "!node-role.kubernetes.io/control-plane", ["10.0.0.1", "10.0.0.2"] },
        { "node-role.kubernetes.io/worker,zone=a", ["10.0.0.1"] },
        { "zone!=a", ["10.0.0.2", "10.0.0.3"] },
    };

    [Theory]
    [MemberData(nameof(Selectors))]
    public void Map_NodePorts_WorkerSelectorPicksTheNodes(string selector, string[] expected)
    {
        Dictionary<string, string> Labels(string role, string? zone)
        {
            var labels = new Dictionary<string, string> { [$"node-role.kubernetes.io/{role}"] = "" };
            if (zone is not null)
            {
                labels["zone"] = zone;
            }

            return labels;
        }

        V1Node[] nodes =
        [
            Node("w1", "10.0.0.1", labels: Labels("worker", "a")),
            Node("w2", "10.0.0.2", labels: Labels("worker", "b")),
            Node("cp", "10.0.0.3", labels: Labels("control-plane", null)),
        ];

        var result = Map(Service(), nodes, options: NodePortsMode with { WorkerSelector = selector });

        Assert.Equal(expected, result.Backends[0].Endpoints.Select(endpoint => endpoint.Address.ToString()));
    }

    [Fact]
    public void Map_NodePorts_AddressTypeByPreference_NodeWithoutOneSkippedWithADiagnostic()
    {
        V1Node[] nodes =
        [
            Node("both", "10.0.0.1", externalIp: "203.0.113.1"),
            Node("external-only", null, externalIp: "203.0.113.2"),
            Node("hostname-only", null),
        ];

        var internalFirst = Map(Service(), nodes);
        var externalFirst = Map(Service(), nodes, options: NodePortsMode with { AddressTypes = ["ExternalIP", "InternalIP"] });

        Assert.Equal(["80: 10.0.0.1:30080, 203.0.113.2:30080"], BackendTexts(internalFirst));
        Assert.Equal(["80: 203.0.113.1:30080, 203.0.113.2:30080"], BackendTexts(externalFirst));
        Assert.Contains("node hostname-only: skipped; no InternalIP or ExternalIP address", internalFirst.BackendNotes);
    }

    [Fact]
    public void Map_NodePorts_FirstAddressOfThePreferredType_OnADualStackNode()
    {
        var node = Node("w1", "10.0.0.1");
        node.Status.Addresses.Add(new V1NodeAddress { Type = "InternalIP", Address = "fd00::1" });

        var result = Map(Service(), [node]);

        Assert.Equal(["80: 10.0.0.1:30080"], BackendTexts(result));
    }

    [Fact]
    public void Map_NodePorts_PortWithoutNodePort_HasNoBackendsAndIsReported()
    {
        var service = Service(ports: [Port("http", 80, 30080), Port("admin", 8080)]);

        var result = Map(service, [Node("w1", "10.0.0.1")]);

        Assert.Equal(["80: 10.0.0.1:30080", "8080: "], BackendTexts(result));
        Assert.Equal([ServicePort.Tcp(8080)], PortsWithoutBackends(result));
        Assert.False(NoBackends(result));
        Assert.Contains("spec.ports[1] (admin, 8080): no backends; spec.ports[1].nodePort is not allocated", result.BackendNotes);
    }

    [Fact]
    public void Map_NodePorts_NoReadyNode_NoBackendsAnywhere()
    {
        var service = Service(ports: [Port("http", 80, 30080), Port("dns", 53, 30053, protocol: "UDP")]);

        var result = Map(service, [Node("w1", "10.0.0.1", ready: false)]);

        Assert.True(NoBackends(result));
        Assert.Equal([ServicePort.Tcp(80), ServicePort.Udp(53)], PortsWithoutBackends(result));
        Assert.Equal(2, result.Backends.Count);
        Assert.Equal(FromNodePorts, result.NoBackendsReason);
    }

    [Fact]
    public void Map_ExternalTrafficPolicyLocal_OnlyNodesWithAReadyEndpointOfTheService()
    {
        var service = Service();
        service.Spec.ExternalTrafficPolicy = "Local";
        V1Node[] nodes = [Node("w1", "10.0.0.1"), Node("w2", "10.0.0.2"), Node("w3", "10.0.0.3"), Node("w4", "10.0.0.4")];
        V1EndpointSlice[] slices =
        [
            Slice("web-a", [SlicePort("http", 8080)], Pod("10.244.1.5", "w1"), Pod("10.244.2.5", "w2", ready: false), Pod("10.244.3.5", "w3", ready: true, terminating: true)),
            Slice("web-b", [SlicePort("http", 8080)], Pod("10.244.4.5", "w4", ready: null)),
            Slice("web-fqdn", "FQDN", [SlicePort("http", 8080)], Pod("pod.example", "w2")),
        ];

        var local = Map(service, nodes, slices);
        service.Spec.ExternalTrafficPolicy = "Cluster";
        var cluster = Map(service, nodes, slices);

        Assert.Equal(["80: 10.0.0.1:30080, 10.0.0.4:30080"], BackendTexts(local));
        Assert.Equal(["80: 10.0.0.1:30080, 10.0.0.2:30080, 10.0.0.3:30080, 10.0.0.4:30080"], BackendTexts(cluster));
        Assert.Equal(["EndpointSlice web-fqdn: skipped; addressType FQDN is not IPv4 or IPv6"], local.BackendNotes);
        Assert.Empty(cluster.BackendNotes);
    }

    [Fact]
    public void Map_ExternalTrafficPolicyLocal_NoEndpoints_NoBackends()
    {
        var service = Service();
        service.Spec.ExternalTrafficPolicy = "Local";

        var result = Map(service, [Node("w1", "10.0.0.1")]);

        Assert.True(NoBackends(result));
    }

    // ---- kube-proxy's health check for Local, and the exclude label ----------------------------------------------

    private static V1Service LocalService(int? healthCheckNodePort = 32123, params (string Key, string Value)[] annotations)
    {
        var service = Service();
        service.Spec.ExternalTrafficPolicy = "Local";
        service.Spec.HealthCheckNodePort = healthCheckNodePort;
        foreach (var (key, value) in annotations)
        {
            service.Metadata.Annotations[key] = value;
        }

        return service;
    }

    private static readonly V1EndpointSlice[] PodsOnW1AndW2 =
        [Slice("web-a", [SlicePort("http", 8080)], Pod("10.244.1.5", "w1"), Pod("10.244.2.5", "w2"))];

    [Fact]
    public void Map_Local_NodesAreCheckedWithGetHealthzOnTheHealthCheckNodePort_TrafficStillGoesToTheNodePort()
    {
        var result = Map(LocalService(), [Node("w1", "10.0.0.1"), Node("w2", "10.0.0.2"), Node("w3", "10.0.0.3")], PodsOnW1AndW2);

        Assert.Equal(["80: 10.0.0.1:30080, 10.0.0.2:30080"], BackendTexts(result));
        Assert.Equal(HealthCheckSettings.Default with { Type = HealthCheckType.Http, Path = "/healthz", Port = 32123 }, result.HealthCheck);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Map_Cluster_KeepsTheServicesOwnCheck_EvenWithAHealthCheckNodePort()
    {
        // Kubernetes allocates healthCheckNodePort only for Local; one left over from a switch to Cluster means nothing.
        var service = LocalService();
        service.Spec.ExternalTrafficPolicy = "Cluster";

        var result = Map(service, [Node("w1", "10.0.0.1")], PodsOnW1AndW2);

        Assert.Equal(HealthCheckSettings.Default, result.HealthCheck);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(70000)]
    public void Map_LocalWithoutAUsableHealthCheckNodePort_KeepsTheServicesOwnCheck(int? healthCheckNodePort)
    {
        var result = Map(LocalService(healthCheckNodePort), [Node("w1", "10.0.0.1")], PodsOnW1AndW2);

        Assert.Equal(["80: 10.0.0.1:30080"], BackendTexts(result));
        Assert.Equal(HealthCheckSettings.Default, result.HealthCheck);
    }

    [Fact]
    public void Map_LocalServedByItsPods_KeepsTheServicesOwnCheck()
    {
        // The pods are the backends (endpoints mode, or no NodePorts): kube-proxy's answer is about nodes, not pods.
        var noNodePorts = LocalService();
        noNodePorts.Spec.AllocateLoadBalancerNodePorts = false;

        var endpoints = Map(LocalService(), [Node("w1", "10.0.0.1")], PodsOnW1AndW2, EndpointsMode);
        var withoutNodePorts = Map(noNodePorts, [Node("w1", "10.0.0.1")], PodsOnW1AndW2);

        Assert.Equal(["80: 10.244.1.5:8080, 10.244.2.5:8080"], BackendTexts(endpoints));
        Assert.Equal(HealthCheckSettings.Default, endpoints.HealthCheck);
        Assert.Equal(HealthCheckSettings.Default, withoutNodePorts.HealthCheck);
    }

    public static TheoryData<string[], HealthCheckSettings, int> LocalAnnotations => new()
    {
        // Tuning applies to kube-proxy's check.
        {
            ["littlelb.io/health-check-interval=2s", "littlelb.io/health-check-timeout=1s", "littlelb.io/health-check-healthy-threshold=1", "littlelb.io/health-check-unhealthy-threshold=2"],
            HealthCheckSettings.Default with
            {
                Type = HealthCheckType.Http, Path = "/healthz", Port = 32123, Interval = TimeSpan.FromSeconds(2), Timeout = TimeSpan.FromSeconds(1),
                HealthyThreshold = 1, UnhealthyThreshold = 2,
            },
            0
        },
        // Checks turned off stay off.
        { ["littlelb.io/health-check-enabled=false"], HealthCheckSettings.Default with { Enabled = false }, 0 },
        // A type or a path chosen by the Service checks the NodePort as asked.
        { ["littlelb.io/health-check-type=tcp"], HealthCheckSettings.Default, 0 },
        { ["littlelb.io/health-check-type=http", "littlelb.io/health-check-path=/ready"], HealthCheckSettings.Default with { Type = HealthCheckType.Http, Path = "/ready" }, 0 },
        { ["loadbalancer.example.com/health-check-type=http"], HealthCheckSettings.Default with { Type = HealthCheckType.Http }, 0 },
        // A type that cannot be used is a warning, and the default for the Service, kube-proxy's check, stands.
        { ["littlelb.io/health-check-type=grpc"], HealthCheckSettings.Default with { Type = HealthCheckType.Http, Path = "/healthz", Port = 32123 }, 1 },
    };

    [Theory]
    [MemberData(nameof(LocalAnnotations))]
    public void Map_Local_HealthCheckAnnotations_TuneOrReplaceOrDisableKubeProxysCheck(string[] annotations, HealthCheckSettings expected, int warnings)
    {
        var service = LocalService(annotations: [.. annotations.Select(text => text.Split('=', 2)).Select(pair => (pair[0], pair[1]))]);

        var result = Map(service, [Node("w1", "10.0.0.1")], PodsOnW1AndW2);

        Assert.Equal(expected, result.HealthCheck);
        Assert.Equal(warnings, result.Warnings.Count);
    }

    public static TheoryData<string, bool> ExcludeLabelValues => new()
    {
        { "", true },
        { "true", true },
        { "True", true },
        { "1", true },
        { "yes", true },
        { "no", true },
        { "false", false },
        { "False", false },
        { "FALSE", false },
        { "f", false },
        { "0", false },
    };

    [Theory]
    [MemberData(nameof(ExcludeLabelValues))]
    public void Map_NodePorts_ExcludeFromExternalLoadBalancersLabel_ExcludesUnlessItReadsAsFalse(string value, bool excluded)
    {
        var labels = new Dictionary<string, string> { ["node-role.kubernetes.io/worker"] = "", [NodePortBackends.ExcludeLabel] = value };
        V1Node[] nodes = [Node("w1", "10.0.0.1"), Node("w2", "10.0.0.2", labels: labels)];

        var result = Map(Service(), nodes);

        Assert.Equal(excluded ? ["80: 10.0.0.1:30080"] : ["80: 10.0.0.1:30080, 10.0.0.2:30080"], BackendTexts(result));
        Assert.Equal(excluded ? [$"node w2: skipped; label node.kubernetes.io/exclude-from-external-load-balancers is '{value}'"] : [], result.BackendNotes);
    }

    [Fact]
    public void Map_Local_ExcludedNodeWithAReadyEndpoint_IsNoBackendEither()
    {
        var labels = new Dictionary<string, string> { ["node-role.kubernetes.io/worker"] = "", [NodePortBackends.ExcludeLabel] = "true" };

        var result = Map(LocalService(), [Node("w1", "10.0.0.1"), Node("w2", "10.0.0.2", labels: labels)], PodsOnW1AndW2);

        Assert.Equal(["80: 10.0.0.1:30080"], BackendTexts(result));
    }

    [Fact]
    public void Map_EveryWorkerExcluded_NoBackends_AndTheNoteSaysWhy()
    {
        var labels = new Dictionary<string, string> { ["node-role.kubernetes.io/worker"] = "", [NodePortBackends.ExcludeLabel] = "" };

        var result = Map(Service(), [Node("w2", "10.0.0.2", labels: labels), Node("w1", "10.0.0.1", labels: labels)]);

        Assert.True(NoBackends(result));
        Assert.Equal(
            ["node w1: skipped; label node.kubernetes.io/exclude-from-external-load-balancers is ''", "node w2: skipped; label node.kubernetes.io/exclude-from-external-load-balancers is ''"],
            result.BackendNotes);
    }

    // ---- Endpoints ----------------------------------------------------------------------------------------------

    [Fact]
    public void Map_Endpoints_NamedTargetPortResolvedPerSlice_BySlicePortWithTheServicePortName()
    {
        // targetPort "web" is a container port name; the controller resolved it per pod and wrote the numbers under
        // the Service port's name "http", so the two slices differ.
        var service = Service(ports: [Port("http", 80, 30080, targetPort: "web"), Port("metrics", 9100, 30091, targetPort: "9100")]);
        V1EndpointSlice[] slices =
        [
            Slice("web-v1", [SlicePort("metrics", 9100), SlicePort("http", 8080)], Pod("10.244.1.5", "w1"), Pod("10.244.1.6", "w1")),
            Slice("web-v2", [SlicePort("http", 8081), SlicePort("metrics", 9101)], Pod("10.244.2.5", "w2")),
            // Same name, other protocol: not this port's.
            Slice("web-udp", [SlicePort("http", 5000, "UDP")], Pod("10.244.3.5", "w3")),
        ];

        var result = Map(service, [Node("w1", "10.0.0.1")], slices, EndpointsMode);

        Assert.Equal(
            ["80: 10.244.1.5:8080, 10.244.1.6:8080, 10.244.2.5:8081", "9100: 10.244.1.5:9100, 10.244.1.6:9100, 10.244.2.5:9101"],
            BackendTexts(result));
        Assert.Equal(["w1", "w1", "w2"], result.Backends[0].Endpoints.Select(endpoint => endpoint.NodeName));
        Assert.Contains(result.BackendNotes, diagnostic => diagnostic.StartsWith("EndpointSlice web-udp: no port named 'http' (TCP)", StringComparison.Ordinal));
    }

    [Fact]
    public void Map_Endpoints_UnnamedSinglePort_MatchesTheUnnamedSlicePort()
    {
        var service = Service(ports: Port(null, 80, targetPort: "8080"));
        V1EndpointSlice[] slices =
        [
            Slice("web-a", [SlicePort(null, 8080)], Pod("10.244.1.5")),
            Slice("web-b", [SlicePort("", 8080)], Pod("10.244.1.6")),
        ];

        var result = Map(service, [], slices, EndpointsMode);

        Assert.Equal(["80: 10.244.1.5:8080, 10.244.1.6:8080"], BackendTexts(result));
    }

    [Fact]
    public void Map_Endpoints_ReadinessAndTermination()
    {
        V1EndpointSlice[] slices =
        [
            Slice("web-a", [SlicePort("http", 8080)],
                Pod("10.244.0.1", ready: true),
                Pod("10.244.0.2", ready: null),
                Pod("10.244.0.3", ready: null, terminating: null),
                Pod("10.244.0.4", ready: false),
                Pod("10.244.0.5", ready: true, terminating: true),
                Pod("10.244.0.6", ready: false, terminating: true),
                Pod("10.244.0.7", ready: null, terminating: false)),
        ];

        var result = Map(Service(), [], slices, EndpointsMode);

        Assert.Equal(["80: 10.244.0.1:8080, 10.244.0.2:8080, 10.244.0.3:8080, 10.244.0.7:8080"], BackendTexts(result));
    }

    [Fact]
    public void Map_Endpoints_IPv6SliceUsed_FqdnSliceAndOtherServicesSlicesSkipped()
    {
        var foreign = Slice("api-x", [SlicePort("http", 8080)], Pod("10.244.9.9"));
        foreign.Metadata.Labels["kubernetes.io/service-name"] = "api";
        var elsewhere = Slice("web-elsewhere", [SlicePort("http", 8080)], Pod("10.244.9.8"));
        elsewhere.Metadata.NamespaceProperty = "other";
        V1EndpointSlice[] slices =
        [
            Slice("web-v6", "IPv6", [SlicePort("http", 8080)], Pod("fd00:10:244::5"), Pod("FD00:10:244::4")),
            Slice("web-v4", "IPv4", [SlicePort("http", 8080)], Pod("10.244.1.5")),
            Slice("web-fqdn", "FQDN", [SlicePort("http", 8080)], Pod("pod.example")),
            foreign,
            elsewhere,
        ];

        var result = Map(Service(), [], slices, EndpointsMode);

        Assert.Equal(["80: 10.244.1.5:8080, [fd00:10:244::4]:8080, [fd00:10:244::5]:8080"], BackendTexts(result));
        Assert.Equal(
            [
                "EndpointSlice api-x: skipped; it belongs to Service api, not web",
                "EndpointSlice web-elsewhere: skipped; it is in namespace other, not shop",
                "EndpointSlice web-fqdn: skipped; addressType FQDN is not IPv4 or IPv6",
            ],
            result.BackendNotes);
    }

    [Fact]
    public void Map_Endpoints_SlicePortWithoutNumber_FallsBackToTheTargetPortOrTheServicePort()
    {
        var service = Service(ports: [Port("a", 80, targetPort: "8080"), Port("b", 81), Port("c", 82, targetPort: "named")]);
        V1EndpointSlice[] slices = [Slice("web-all", [SlicePort("a", null), SlicePort("b", null), SlicePort("c", null)], Pod("10.244.1.5"))];

        var result = Map(service, [], slices, EndpointsMode);

        Assert.Equal(["80: 10.244.1.5:8080", "81: 10.244.1.5:81", "82: "], BackendTexts(result));
        Assert.Equal([ServicePort.Tcp(82)], PortsWithoutBackends(result));
    }

    [Fact]
    public void Map_Endpoints_NoSlices_NoBackends()
    {
        var result = Map(Service(), [Node("w1", "10.0.0.1")], [], EndpointsMode);

        Assert.True(NoBackends(result));
        Assert.Equal([ServicePort.Tcp(80)], PortsWithoutBackends(result));
        Assert.Equal(FromEndpoints, result.NoBackendsReason);
    }

    [Fact]
    public void Map_AllocateLoadBalancerNodePortsFalse_UsesEndpointsEvenInNodePortsMode()
    {
        var service = Service(ports: Port("http", 80, targetPort: "web"));
        service.Spec.AllocateLoadBalancerNodePorts = false;

        var result = Map(service, [Node("w1", "10.0.0.1")], [Slice("web-a", [SlicePort("http", 8080)], Pod("10.244.1.5", "w1"))]);

        Assert.Equal(["80: 10.244.1.5:8080"], BackendTexts(result));
        // The reason tells the operator where backends were looked for: here the endpoints, whatever the mode.
        Assert.Equal(FromEndpoints, result.NoBackendsReason);
    }

    [Fact]
    public void Map_AllocateLoadBalancerNodePortsTrue_StaysOnNodePorts()
    {
        var service = Service();
        service.Spec.AllocateLoadBalancerNodePorts = true;

        var result = Map(service, [Node("w1", "10.0.0.1")], [Slice("web-a", [SlicePort("http", 8080)], Pod("10.244.1.5", "w1"))]);

        Assert.Equal(["80: 10.0.0.1:30080"], BackendTexts(result));
        Assert.Equal(FromNodePorts, result.NoBackendsReason);
    }

    // ---- determinism --------------------------------------------------------------------------------------------

    [Fact]
    public void Map_ShuffledInput_GivesTheSameDesiredService_AndDuplicatesCollapse()
    {
        var random = new Random(7);
        V1Node[] nodes = [.. Enumerable.Range(1, 12).Select(i => Node($"w{i}", $"10.0.{i % 3}.{i}"))];
        V1EndpointSlice[] Slices() =>
        [
            Slice("web-a", [SlicePort("http", 8080)], [.. Enumerable.Range(1, 8).Select(i => Pod($"10.244.{i % 2}.{i}", $"w{i}"))]),
            Slice("web-b", [SlicePort("http", 8080)], [.. Enumerable.Range(5, 8).Select(i => Pod($"10.244.{i % 2}.{i}", $"w{i}"))]),
            Slice("web-c", "IPv6", [SlicePort("http", 8080)], Pod("fd00::2"), Pod("fd00::1")),
        ];

        foreach (var options in new[] { NodePortsMode, EndpointsMode })
        {
            var service = Service();
            service.Spec.ExternalTrafficPolicy = "Local";
            var first = Map(service, nodes, Slices(), options);
            for (var round = 0; round < 5; round++)
            {
                var shuffledNodes = nodes.ToArray();
                random.Shuffle(shuffledNodes);
                var shuffledSlices = Slices();
                random.Shuffle(shuffledSlices);
                foreach (var slice in shuffledSlices)
                {
                    var endpoints = slice.Endpoints.ToArray();
                    random.Shuffle(endpoints);
                    slice.Endpoints = endpoints;
                }

                var again = Map(service, shuffledNodes, shuffledSlices, options);

                Assert.True(first.SameAs(again));
                Assert.Equal(first.BackendNotes, again.BackendNotes);
            }

            var endpointsCount = first.Backends[0].Endpoints.Count;
            Assert.Equal(endpointsCount, first.Backends[0].Endpoints.Distinct().Count());
            Assert.Equal(options == EndpointsMode ? 14 : 12, endpointsCount);
        }
    }

    [Fact]
    public void Map_AChangedBackend_GivesADifferentDesiredService()
    {
        var service = Service();
        var before = Map(service, [Node("w1", "10.0.0.1"), Node("w2", "10.0.0.2")]);
        var after = Map(service, [Node("w1", "10.0.0.1"), Node("w2", "10.0.0.2", ready: false)]);

        Assert.False(before.SameAs(after));
    }

    [Fact]
    public void Constructor_BadWorkerSelector_ThrowsNamingTheText()
    {
        var thrown = Assert.Throws<FormatException>(() => new DesiredServiceMapper(new KubernetesServiceOptions { WorkerSelector = "zone in (a)" }));

        Assert.Contains("'zone in (a)'", thrown.Message, StringComparison.Ordinal);
    }
}

using k8s;
using k8s.Models;

namespace LoadBalancer.EndToEnd.Tests.Kubernetes;

/// <summary>A port of a Service: its number, protocol and name (Kubernetes needs a name once there are two).</summary>
internal sealed record ServicePort(int Port, string Protocol = "TCP", string? Name = null);

/// <summary>
/// Objects written to the real API server as a cluster's controllers and kubelets would write them, and read back as
/// <c>kubectl</c> shows them. No controller runs there: Nodes, their status and EndpointSlices come from here.
/// </summary>
internal static class KubeObjects
{
    /// <summary>Creates a Service of type LoadBalancer; the answer carries the NodePorts the API server allocated.</summary>
    public static Task<V1Service> CreateServiceAsync(
        IKubernetes client, string ns, string name, IReadOnlyList<ServicePort> ports, string? loadBalancerIp = null, string? loadBalancerClass = null,
        IDictionary<string, string>? annotations = null, IList<string>? sourceRanges = null, CancellationToken cancellationToken = default) =>
        client.CoreV1.CreateNamespacedServiceAsync(
            new V1Service
            {
                Metadata = new V1ObjectMeta { Name = name, Annotations = annotations },
                Spec = new V1ServiceSpec
                {
                    Type = "LoadBalancer",
                    LoadBalancerIP = loadBalancerIp,
                    LoadBalancerClass = loadBalancerClass,
                    LoadBalancerSourceRanges = sourceRanges,
                    Selector = new Dictionary<string, string> { ["app"] = name },
                    Ports = [.. ports.Select((port, index) => new V1ServicePort
                    {
                        Name = port.Name ?? (ports.Count > 1 ? $"p{index}" : null),
                        Port = port.Port,
                        Protocol = port.Protocol,
                    })],
                },
            },
            ns,
            cancellationToken: cancellationToken);

    /// <summary>
    /// A Node as a kubelet registers it: created, then its addresses and Ready condition written through the status
    /// subresource (the API server ignores status on create).
    /// </summary>
    public static async Task<V1Node> CreateNodeAsync(IKubernetes client, string name, string internalIp, bool ready = true, bool worker = true)
    {
        var labels = new Dictionary<string, string> { ["kubernetes.io/hostname"] = name };
        if (worker)
        {
            labels["node-role.kubernetes.io/worker"] = string.Empty;
        }

        await client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = name, Labels = labels } });
        return await SetNodeStatusAsync(client, name, internalIp, ready);
    }

    /// <summary>Writes a Node's address and Ready condition, as its kubelet (or, for NotReady, the node controller) does.</summary>
    public static async Task<V1Node> SetNodeStatusAsync(IKubernetes client, string name, string internalIp, bool ready)
    {
        // A daemon may label the Node (--tag-worker-nodes) between the read and the write: read again, as a kubelet does.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await WriteNodeStatusAsync(client, name, internalIp, ready);
            }
            catch (k8s.Autorest.HttpOperationException conflict) when (conflict.Response.StatusCode == System.Net.HttpStatusCode.Conflict && attempt < 5)
            {
            }
        }
    }

    private static async Task<V1Node> WriteNodeStatusAsync(IKubernetes client, string name, string internalIp, bool ready)
    {
        var node = await client.CoreV1.ReadNodeStatusAsync(name);
        node.Status ??= new V1NodeStatus();
        node.Status.Addresses = [new V1NodeAddress { Type = "InternalIP", Address = internalIp }, new V1NodeAddress { Type = "Hostname", Address = name }];
        node.Status.Conditions =
        [
            new V1NodeCondition
            {
                Type = "Ready",
                Status = ready ? "True" : "False",
                Reason = ready ? "KubeletReady" : "KubeletNotReady",
                LastHeartbeatTime = DateTime.UtcNow,
                LastTransitionTime = DateTime.UtcNow,
            },
        ];
        return await client.CoreV1.ReplaceNodeStatusAsync(node, name);
    }

    /// <summary>
    /// The EndpointSlice of <paramref name="service"/> as the EndpointSlice controller writes it: one ready endpoint per
    /// address (not loopback: the API refuses 127/8 and ::1), on the Service's port names. Replaces an earlier one.
    /// </summary>
    public static Task<V1EndpointSlice> PutSliceAsync(
        IKubernetes client, string ns, string service, IReadOnlyList<(string? Name, int Port, string Protocol)> ports, params string[] readyAddresses) =>
        PutSliceAsync(client, ns, service, ports, [.. readyAddresses.Select(address => (address, true))]);

    /// <summary>As above, with each endpoint's Ready condition given (false: a pod not ready yet, or failing its probe).</summary>
    public static async Task<V1EndpointSlice> PutSliceAsync(
        IKubernetes client, string ns, string service, IReadOnlyList<(string? Name, int Port, string Protocol)> ports,
        IReadOnlyList<(string Address, bool Ready)> endpoints)
    {
        var slice = new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = service + "-e2e",
                Labels = new Dictionary<string, string>
                {
                    ["kubernetes.io/service-name"] = service,
                    ["endpointslice.kubernetes.io/managed-by"] = "e2e.little-load-balancer",
                },
            },
            AddressType = "IPv4",
            Ports = [.. ports.Select(port => new Discoveryv1EndpointPort { Name = port.Name ?? string.Empty, Port = port.Port, Protocol = port.Protocol })],
            Endpoints = [.. endpoints.Select(endpoint => new V1Endpoint { Addresses = [endpoint.Address], Conditions = new V1EndpointConditions { Ready = endpoint.Ready } })],
        };
        try
        {
            var existing = await client.DiscoveryV1.ReadNamespacedEndpointSliceAsync(slice.Metadata.Name, ns);
            slice.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
            return await client.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(slice, slice.Metadata.Name, ns);
        }
        catch (k8s.Autorest.HttpOperationException missing) when (missing.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return await client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice, ns);
        }
    }

    /// <summary>The ingress IPs in the Service's status, in order; empty when none is written.</summary>
    public static async Task<IReadOnlyList<string>> IngressAsync(IKubernetes client, string ns, string name)
    {
        var service = await client.CoreV1.ReadNamespacedServiceAsync(name, ns);
        return service.Status?.LoadBalancer?.Ingress is { } ingress ? [.. ingress.Select(entry => entry.Ip)] : [];
    }

    /// <summary>Waits (bounded) until the Service's status holds an ingress IP; the first one.</summary>
    public static async Task<string> IngressEventuallyAsync(IKubernetes client, string ns, string name, TimeSpan limit, Func<string>? context = null)
    {
        IReadOnlyList<string> ingress = [];
        var written = await LoadBalancer.Host.Tests.Net.EventuallyAsync(async () => (ingress = await IngressAsync(client, ns, name)).Count > 0, limit);
        return written ? ingress[0] : throw new TimeoutException($"no ingress IP in the status of {ns}/{name} within {limit.TotalSeconds:F0} s; {context?.Invoke()}");
    }

    /// <summary>Waits (bounded) until an Event about the Service matches <paramref name="match"/>; that Event.</summary>
    public static async Task<EventLine> EventEventuallyAsync(
        IKubernetes client, string ns, string name, Func<EventLine, bool> match, TimeSpan limit, Func<string>? context = null)
    {
        EventLine? found = null;
        IReadOnlyList<EventLine> events = [];
        var seen = await LoadBalancer.Host.Tests.Net.EventuallyAsync(
            async () => (found = (events = await EventsAsync(client, ns, name)).FirstOrDefault(match)) is not null, limit);
        return seen ? found! : throw new TimeoutException(
            $"no such Event about {ns}/{name} within {limit.TotalSeconds:F0} s; its Events: [{string.Join("; ", events)}]; {context?.Invoke()}");
    }

    /// <summary>
    /// The Events about one object, oldest first, as <c>kubectl events --for service/NAME</c> lists them
    /// (events.k8s.io/v1, which also shows the core v1 ones): "TYPE REASON NOTE" and who reported it.
    /// </summary>
    public static async Task<IReadOnlyList<EventLine>> EventsAsync(IKubernetes client, string ns, string name, string kind = "Service")
    {
        var events = await client.EventsV1.ListNamespacedEventAsync(ns, fieldSelector: $"regarding.name={name},regarding.kind={kind}");
        return [.. events.Items
            .OrderBy(e => e.EventTime ?? e.DeprecatedLastTimestamp ?? e.Metadata.CreationTimestamp)
            .Select(e => new EventLine(e.Type, e.Reason, e.Note, e.ReportingController, e.DeprecatedCount ?? e.Series?.Count ?? 1))];
    }
}

/// <summary>One Event as kubectl shows it.</summary>
internal sealed record EventLine(string Type, string Reason, string Note, string? Controller, int Count)
{
    public override string ToString() => $"{Type} {Reason} {Note} ({Controller}, x{Count})";
}

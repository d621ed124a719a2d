using k8s;
using k8s.Models;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Tests.Support;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>The shipped manifest reads as Kubernetes objects, grants what the daemon calls, and runs cluster mode.</summary>
public sealed class DeploymentManifestTests
{
    private static readonly IReadOnlyList<object> Objects = KubernetesYaml.LoadAllFromString(File.ReadAllText(LoadBalancer.Tests.Shared.RepositoryRoot.Combine("deploy", "little-load-balancer.yaml")));

    [Theory]
    [InlineData("", "services", "list")]
    [InlineData("", "services", "watch")]
    [InlineData("", "services/status", "patch")]
    [InlineData("", "services", "patch")]
    [InlineData("", "nodes", "list")]
    [InlineData("", "nodes", "watch")]
    [InlineData("", "nodes", "patch")]
    [InlineData("discovery.k8s.io", "endpointslices", "list")]
    [InlineData("discovery.k8s.io", "endpointslices", "watch")]
    [InlineData("events.k8s.io", "events", "create")]
    [InlineData("events.k8s.io", "events", "list")]
    [InlineData("events.k8s.io", "events", "patch")]
    public void ClusterRole_GrantsWhatTheDaemonCalls(string group, string resource, string verb)
    {
        var role = Objects.OfType<V1ClusterRole>().Single();

        Assert.Contains(role.Rules, rule => rule.ApiGroups.Contains(group) && rule.Resources.Contains(resource) && rule.Verbs.Contains(verb));
    }

    [Theory]
    [InlineData("get")]
    [InlineData("create")]
    [InlineData("update")]
    public void LeaseRole_InTheLeasesNamespace_GrantsWhatTheElectorCalls(string verb)
    {
        var role = Objects.OfType<V1Role>().Single();

        Assert.Equal("kube-system", role.Metadata.NamespaceProperty);
        Assert.Contains(role.Rules, rule => rule.ApiGroups.Contains("coordination.k8s.io") && rule.Resources.Contains("leases") && rule.Verbs.Contains(verb));
    }

    [Fact]
    public void Deployment_ArgumentsRunClusterMode_WithTheLeaseWhereTheRoleIs_AndThePodNameAsIdentity()
    {
        var deployment = Objects.OfType<V1Deployment>().Single();
        var container = deployment.Spec.Template.Spec.Containers.Single();

        Assert.Empty(InProcess.ParseErrors([.. container.Args]));
        var configuration = InProcess.Configuration([.. container.Args], new Dictionary<string, string?> { ["POD_NAMESPACE"] = "from-the-pod" });

        Assert.Equal("true", configuration.Root[Settings.Kubernetes]);
        // The Lease lives in the pod's namespace (POD_NAMESPACE), where the Role grants it.
        Assert.Equal(("from-the-pod", "env POD_NAMESPACE"), (configuration.Root[Settings.LeaderElectionNamespace], configuration.Source(Settings.LeaderElectionNamespace)));
        Assert.Contains(container.Env, env => env.Name == "POD_NAMESPACE" && env.ValueFrom?.FieldRef?.FieldPath == "metadata.namespace");
        Assert.Equal(Objects.OfType<V1Role>().Single().Metadata.NamespaceProperty, deployment.Metadata.NamespaceProperty);
        Assert.Contains(container.Env, env => env.Name == "POD_NAME" && env.ValueFrom?.FieldRef?.FieldPath == "metadata.name");
        Assert.True(deployment.Spec.Template.Spec.HostNetwork);
        Assert.Contains("NET_ADMIN", container.SecurityContext.Capabilities.Add);
        Assert.Contains("NET_RAW", container.SecurityContext.Capabilities.Add);
        Assert.Equal("little-load-balancer", deployment.Spec.Template.Spec.ServiceAccountName);
    }

    [Fact]
    public void Deployment_RunsOnTheDedicatedLoadBalancerNodes_ToleratesTheirTaint_AndOutlastsItsDrain()
    {
        const string Role = "node-role.kubernetes.io/loadbalancer";
        var deployment = Objects.OfType<V1Deployment>().Single();
        var pod = deployment.Spec.Template.Spec;
        var container = pod.Containers.Single();

        var terms = pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms;
        Assert.Contains(terms, term => term.MatchExpressions.Any(expression => expression.Key == Role && expression.OperatorProperty == "Exists"));
        Assert.Contains(pod.Tolerations, toleration => toleration.Key == Role && toleration.Effect == "NoSchedule");
        var settings = InProcess.Settings([.. container.Args]);
        Assert.Equal("br0", settings.LinkDevice);
        Assert.True(pod.TerminationGracePeriodSeconds > settings.Drain.TotalSeconds, $"{pod.TerminationGracePeriodSeconds} s <= {settings.Drain}");
        Assert.True(container.SecurityContext.RunAsNonRoot);
    }

    [Fact]
    public void Deployment_ProbesTheAdminEndpoint_WhereTheDaemonListens_OnThePodsAddress()
    {
        var container = Objects.OfType<V1Deployment>().Single().Spec.Template.Spec.Containers.Single();
        Assert.Contains(container.Env, env => env.Name == "POD_IP" && env.ValueFrom?.FieldRef?.FieldPath == "status.podIP");
        var admin = container.Env.Single(env => env.Name == "LITTLELB_ADMINADDRESS").Value;

        // The kubelet expands $(POD_IP) from the variable above it.
        var settings = InProcess.Settings([.. container.Args], new Dictionary<string, string?>
        {
            ["LITTLELB_ADMINADDRESS"] = admin.Replace("$(POD_IP)", "10.0.0.5", StringComparison.Ordinal),
        });
        var endPoint = settings.Admin().EndPoint;

        Assert.Equal(System.Net.IPEndPoint.Parse("10.0.0.5:9090"), endPoint);
        var port = container.Ports.Single(port => port.Name == "admin");
        Assert.Equal(endPoint!.Port, port.ContainerPort);
        Assert.Equal(("/readyz", "admin"), (container.ReadinessProbe.HttpGet.Path, container.ReadinessProbe.HttpGet.Port.Value));
        Assert.Equal(("/healthz", "admin"), (container.LivenessProbe.HttpGet.Path, container.LivenessProbe.HttpGet.Port.Value));

        // Prometheus scrapes the same endpoint.
        var annotations = Objects.OfType<V1Deployment>().Single().Spec.Template.Metadata.Annotations;
        Assert.Equal(("true", endPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "/metrics"),
            (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations["prometheus.io/path"]));
    }
}

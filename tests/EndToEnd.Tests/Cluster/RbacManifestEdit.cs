using k8s;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Tests.Shared;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>One right a Role or ClusterRole grants: a verb on a resource of an API group ("" is the core group).</summary>
internal sealed record RbacPermission(string Group, string Resource, string Verb)
{
    public override string ToString() => $"{(Group.Length == 0 ? string.Empty : Group + "/")}{Resource} {Verb}";
}

/// <summary>
/// The manifest's rights, one permission at a time: which it grants, an edit that takes exactly one away (the rules
/// rewritten around it, everything else as written), and a wait until the API server's authorizer agrees.
/// </summary>
internal static class RbacManifestEdit
{
    public const string ServiceAccount = "system:serviceaccount:kube-system:little-load-balancer";

    /// <summary>Every permission the manifest's ClusterRole and Role grant, with the namespace of a Role's (null: cluster-wide).</summary>
    public static IReadOnlyList<(RbacPermission Permission, string? Namespace)> Granted()
    {
        var objects = KubernetesYaml.LoadAllFromString(File.ReadAllText(RepositoryRoot.Combine(DeployManifestRbac.ManifestPath)));
        return [.. objects.SelectMany(item => item switch
        {
            V1ClusterRole role => Expand(role.Rules).Select(permission => (permission, (string?)null)),
            V1Role role => Expand(role.Rules).Select(permission => (permission, (string?)role.Namespace())),
            _ => [],
        })];
    }

    /// <summary>An edit for <see cref="DeployManifestRbac.ApplyAsync"/> that removes <paramref name="removed"/> alone.</summary>
    public static Action<IReadOnlyList<object>> Without(RbacPermission removed) => objects =>
    {
        var found = 0;
        foreach (var item in objects)
        {
            switch (item)
            {
                case V1ClusterRole role:
                    role.Rules = Remove(role.Rules, removed, ref found);
                    break;
                case V1Role role:
                    role.Rules = Remove(role.Rules, removed, ref found);
                    break;
            }
        }

        if (found == 0)
        {
            throw new InvalidOperationException($"{DeployManifestRbac.ManifestPath} does not grant {removed}");
        }
    };

    /// <summary>
    /// Waits until a SubjectAccessReview of the manifest's ServiceAccount answers <paramref name="allowed"/> for
    /// <paramref name="permission"/>: RBAC objects reach the authorizer through its informers, a moment after the write.
    /// </summary>
    public static async Task WaitUntilAsync(IKubernetes admin, RbacPermission permission, string? ns, bool allowed, TimeSpan limit)
    {
        var review = new V1SubjectAccessReview
        {
            Spec = new V1SubjectAccessReviewSpec
            {
                User = ServiceAccount,
                Groups = ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
                ResourceAttributes = new V1ResourceAttributes
                {
                    Group = permission.Group,
                    Resource = permission.Resource.Split('/')[0],
                    Subresource = permission.Resource.Contains('/', StringComparison.Ordinal) ? permission.Resource.Split('/')[1] : null,
                    Verb = permission.Verb,
                    NamespaceProperty = ns ?? "default",
                },
            },
        };
        var agreed = await LoadBalancer.Host.Tests.Net.EventuallyAsync(
            async () => (await admin.AuthorizationV1.CreateSubjectAccessReviewAsync(review)).Status.Allowed == allowed, limit);
        Assert.True(agreed, $"the API server still {(allowed ? "refuses" : "allows")} {permission} after {limit.TotalSeconds:F0} s");
    }

    private static IEnumerable<RbacPermission> Expand(IEnumerable<V1PolicyRule>? rules) =>
        from rule in rules ?? []
        from grp in rule.ApiGroups ?? [string.Empty]
        from resource in rule.Resources ?? []
        from verb in rule.Verbs ?? []
        select new RbacPermission(grp, resource, verb);

    /// <summary>The rules with <paramref name="removed"/> taken out: one rule per remaining permission, which grants the same.</summary>
    private static List<V1PolicyRule> Remove(IEnumerable<V1PolicyRule>? rules, RbacPermission removed, ref int found)
    {
        var kept = Expand(rules).ToList();
        found += kept.RemoveAll(permission => permission == removed);
        return [.. kept.Select(permission => new V1PolicyRule
        {
            ApiGroups = [permission.Group], Resources = [permission.Resource], Verbs = [permission.Verb],
        })];
    }
}

using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Tests.Shared;

namespace LoadBalancer.EndToEnd.Tests.Kubernetes;

/// <summary>
/// The ServiceAccount and RBAC objects of deploy/little-load-balancer.yaml, applied as they are written, and a token of
/// that ServiceAccount: a daemon that runs with it has exactly the rights the manifest grants, so any 403 it meets means
/// the manifest lacks a rule.
/// </summary>
internal static class DeployManifestRbac
{
    public const string ManifestPath = "deploy/little-load-balancer.yaml";

    /// <summary>Creates (or replaces) the manifest's ServiceAccount, ClusterRole, ClusterRoleBinding, Role and RoleBinding.</summary>
    /// <param name="edit">Changes the objects before they are applied, e.g. a rule removed.</param>
    /// <returns>A token of the manifest's ServiceAccount, valid for an hour.</returns>
    public static async Task<string> ApplyAsync(KubeApiServer server, Action<IReadOnlyList<object>>? edit = null)
    {
        var objects = KubernetesYaml.LoadAllFromString(await File.ReadAllTextAsync(RepositoryRoot.Combine(ManifestPath)))
            .Where(o => o is V1ServiceAccount or V1ClusterRole or V1ClusterRoleBinding or V1Role or V1RoleBinding)
            .ToList();
        edit?.Invoke(objects);
        using var admin = server.AdminClient();
        V1ServiceAccount? account = null;
        foreach (var item in objects)
        {
            switch (item)
            {
                case V1ServiceAccount serviceAccount:
                    account = serviceAccount;
                    await CreateOrKeepAsync(() => admin.CoreV1.CreateNamespacedServiceAccountAsync(serviceAccount, serviceAccount.Namespace()));
                    break;
                case V1ClusterRole role:
                    await CreateOrReplaceAsync(
                        () => admin.RbacAuthorizationV1.CreateClusterRoleAsync(role),
                        () => admin.RbacAuthorizationV1.ReplaceClusterRoleAsync(role, role.Name()));
                    break;
                case V1ClusterRoleBinding binding:
                    await CreateOrReplaceAsync(
                        () => admin.RbacAuthorizationV1.CreateClusterRoleBindingAsync(binding),
                        () => admin.RbacAuthorizationV1.ReplaceClusterRoleBindingAsync(binding, binding.Name()));
                    break;
                case V1Role role:
                    await CreateOrReplaceAsync(
                        () => admin.RbacAuthorizationV1.CreateNamespacedRoleAsync(role, role.Namespace()),
                        () => admin.RbacAuthorizationV1.ReplaceNamespacedRoleAsync(role, role.Name(), role.Namespace()));
                    break;
                case V1RoleBinding binding:
                    await CreateOrReplaceAsync(
                        () => admin.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(binding, binding.Namespace()),
                        () => admin.RbacAuthorizationV1.ReplaceNamespacedRoleBindingAsync(binding, binding.Name(), binding.Namespace()));
                    break;
            }
        }

        return account is null
            ? throw new InvalidOperationException($"{ManifestPath} defines no ServiceAccount")
            : await server.ServiceAccountTokenAsync(account.Namespace(), account.Name());
    }

    private static async Task CreateOrKeepAsync(Func<Task> create)
    {
        try
        {
            await create();
        }
        catch (HttpOperationException exists) when (exists.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
        }
    }

    private static async Task CreateOrReplaceAsync(Func<Task> create, Func<Task> replace)
    {
        try
        {
            await create();
        }
        catch (HttpOperationException exists) when (exists.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            await replace();
        }
    }
}

using NetArchTest.Rules;

namespace LoadBalancer.Architecture.Tests;

/// <summary>
/// Inside Infrastructure, each adapter is one folder that reaches no other adapter's folder, only the shared ones: a
/// contributor adds or replaces an adapter by touching its folder (and its registration), nothing else.
/// </summary>
public sealed class AdapterFolderTests
{
    private const string Root = "LoadBalancer.Infrastructure.";

    private static readonly string[] AdapterFolders = ["Demo", "Events", "Forwarding", "Kubernetes", "Networking", "Standalone"];

    public static TheoryData<string> Adapters => [.. AdapterFolders];

    [Theory]
    [MemberData(nameof(Adapters))]
    public void Adapter_DependsOnNoOtherAdapter(string adapter)
    {
        var others = AdapterFolders.Where(other => other != adapter).Select(other => Root + other).ToArray();

        var result = InfrastructureTypes()
            .That().ResideInNamespaceStartingWith(Root + adapter)
            .ShouldNot().HaveDependencyOnAny(others)
            .GetResult();

        Assert.True(result.IsSuccessful, $"{adapter} reaches into another adapter: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void TheRule_SeesADependencyOnASharedFolder()
    {
        // The check above could pass by matching nothing; this one shows it sees namespaces the adapters do use.
        var result = InfrastructureTypes()
            .That().ResideInNamespaceStartingWith(Root + "Standalone")
            .ShouldNot().HaveDependencyOn(Root + "ServiceManifests")
            .GetResult();

        Assert.False(result.IsSuccessful);
    }

    [Fact]
    public void TheReconcileCore_KnowsNoAdapterAndNoSource()
    {
        var result = Types.InAssembly(typeof(Application.Reconciliation.IServiceReconciler).Assembly)
            .That().ResideInNamespaceStartingWith("LoadBalancer.Application.Reconciliation")
            .ShouldNot().HaveDependencyOnAny("LoadBalancer.Infrastructure", "k8s", "Microsoft.Extensions.Hosting")
            .GetResult();

        Assert.True(result.IsSuccessful, string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void OnlyTheAdminEndpoint_KnowsTheMetricsExporter()
    {
        // Instruments are System.Diagnostics.Metrics wherever the fact lives; which library exports them is Admin's business.
        var result = InfrastructureTypes()
            .That().DoNotResideInNamespaceStartingWith(Root + "Admin")
            .ShouldNot().HaveDependencyOn("OpenTelemetry")
            .GetResult();

        Assert.True(result.IsSuccessful, string.Join(", ", result.FailingTypeNames ?? []));
        Assert.False(InfrastructureTypes().That().ResideInNamespaceStartingWith(Root + "Admin").ShouldNot().HaveDependencyOn("OpenTelemetry").GetResult().IsSuccessful);
    }

    private static Types InfrastructureTypes() => Types.InAssembly(typeof(Infrastructure.DependencyInjection).Assembly);
}

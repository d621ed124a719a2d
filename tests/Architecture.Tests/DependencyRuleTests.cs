using System.Reflection;
using System.Xml.Linq;

namespace LoadBalancer.Architecture.Tests;

public sealed class DependencyRuleTests
{
    [Theory]
    [InlineData(DependencyRule.Domain)]
    [InlineData(DependencyRule.Application)]
    [InlineData(DependencyRule.Infrastructure)]
    [InlineData(DependencyRule.Host)]
    public void CompiledAssembly_ReferencesOnlyInnerLayersAndAllowedPackages(string layer)
    {
        var assembly = Assembly.Load(layer);
        var references = assembly.GetReferencedAssemblies().Select(name => name.Name!).ToList();

        Assert.Empty(DependencyRule.Violations(layer, references));
    }

    [Fact]
    public void Domain_ReferencesNothingButTheBaseClassLibrary()
    {
        var references = Assembly.Load(DependencyRule.Domain).GetReferencedAssemblies().Select(name => name.Name!);

        Assert.All(references, name => Assert.True(name == "System" || name.StartsWith("System.", StringComparison.Ordinal), name));
    }

    [Theory]
    [InlineData("src/Domain/LoadBalancer.Domain.csproj", new string[0])]
    [InlineData("src/Application/LoadBalancer.Application.csproj", new[] { "LoadBalancer.Domain" })]
    [InlineData("src/Infrastructure/LoadBalancer.Infrastructure.csproj", new[] { "LoadBalancer.Application" })]
    [InlineData("src/Host/LoadBalancer.Host.csproj", new[] { "LoadBalancer.Application", "LoadBalancer.Infrastructure" })]
    // The native forwarder is a second entry point to the host's code, not a layer: it composes nothing of its own.
    [InlineData("src/Forwarder/LoadBalancer.Forwarder.csproj", new[] { "LoadBalancer.Host" })]
    public void ProjectFile_ReferencesExactlyItsInnerLayers(string project, string[] expected)
    {
        var references = ProjectFile(project)
            .Descendants("ProjectReference")
            .Select(reference => Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value.Replace('\\', '/')))
            .Order(StringComparer.Ordinal);

        Assert.Equal(expected.Order(StringComparer.Ordinal), references);
    }

    [Fact]
    public void OnlyTheHost_RunsTheMediatorSourceGenerator()
    {
        var projects = Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "tests"), "*.csproj", SearchOption.AllDirectories))
            .Where(path => XDocument.Load(path).Descendants("PackageReference")
                .Any(reference => reference.Attribute("Include")?.Value == "Mediator.SourceGenerator"))
            .Select(path => Path.GetRelativePath(RepositoryRoot, path).Replace('\\', '/'));

        Assert.Equal(["src/Host/LoadBalancer.Host.csproj"], projects);
    }

    [Fact]
    public void Violations_ReportsAnInnerLayerReferencingAnOuterOne()
    {
        var violations = DependencyRule.Violations(DependencyRule.Domain, ["System.Runtime", DependencyRule.Application]);

        Assert.Equal(["LoadBalancer.Domain references LoadBalancer.Application, an outer layer"], violations);
    }

    [Fact]
    public void Violations_ReportsAPackageTheLayerMayNotUse()
    {
        var violations = DependencyRule.Violations(DependencyRule.Application, ["Mediator.Abstractions", "KubernetesClient"]);

        Assert.Equal(["LoadBalancer.Application references KubernetesClient, which this layer may not use"], violations);
    }

    private static XDocument ProjectFile(string relativePath) => XDocument.Load(Path.Combine(RepositoryRoot, relativePath));

    private static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LoadBalancer.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("LoadBalancer.sln not found above " + AppContext.BaseDirectory);
        }
    }
}

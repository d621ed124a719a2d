using LoadBalancer.Infrastructure.Standalone;

namespace LoadBalancer.Infrastructure.Tests.Standalone;

/// <summary>spec.loadBalancerSourceRanges in a standalone file: read as a list, checked with the line of each entry.</summary>
public sealed class ServiceFileSourceRangesTests : IDisposable
{
    private const string Web = """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          annotations:
            littlelb.io/backends: "127.0.0.131:9001"
        spec:
          type: LoadBalancer
          loadBalancerSourceRanges:
            - 10.0.0.0/8
            - RANGE
          ports:
            - port: 80
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-ranges-check-").FullName;

    private string FilePath => Path.Combine(_directory, "services.yaml");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Read_Ranges_ReachTheService()
    {
        File.WriteAllText(FilePath, Web.Replace("RANGE", "2001:db8::/32", StringComparison.Ordinal));

        var file = StandaloneServiceFile.Parse(File.ReadAllText(FilePath));

        var service = Assert.Single(file.Services);
        Assert.Equal(["10.0.0.0/8", "2001:db8::/32"], service.Spec.SourceRanges);
        Assert.Empty(file.Problems);
        Assert.Empty(file.ServiceProblems);
    }

    [Fact]
    public void Check_BadRange_NamesTheEntryItsValueAndItsLine()
    {
        File.WriteAllText(FilePath, Web.Replace("RANGE", "banana", StringComparison.Ordinal));

        var problem = Assert.Single(ServiceFileCheck.Check(FilePath, new StandaloneFileOptions()));

        Assert.Equal((11, "spec.loadBalancerSourceRanges[1]", "banana"), (problem.Line, problem.Field, problem.Value));
        Assert.StartsWith($"{FilePath}:11: spec.loadBalancerSourceRanges[1]: 'banana' is not a CIDR", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_RangesNotAList_IsAProblemOfTheField()
    {
        File.WriteAllText(FilePath, Web.Replace("  loadBalancerSourceRanges:\n    - 10.0.0.0/8\n    - RANGE", "  loadBalancerSourceRanges: 10.0.0.0/8", StringComparison.Ordinal));

        var problem = Assert.Single(ServiceFileCheck.Check(FilePath, new StandaloneFileOptions()));

        Assert.Equal("spec.loadBalancerSourceRanges", problem.Field);
        Assert.Contains("'10.0.0.0/8' must be a list", problem.ToString(), StringComparison.Ordinal);
    }
}

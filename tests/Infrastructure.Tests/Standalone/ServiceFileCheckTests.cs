using System.Runtime.Versioning;
using LoadBalancer.Infrastructure.Standalone;

namespace LoadBalancer.Infrastructure.Tests.Standalone;

public sealed class ServiceFileCheckTests : IDisposable
{
    private const string Web = """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          annotations:
            littlelb.io/backends: "127.0.0.1:9001"
        spec:
          type: LoadBalancer
          ports:
            - name: http
              port: 80
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-check-").FullName;

    private string FilePath => Path.Combine(_directory, "services.yaml");

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Check_GoodFile_HasNoProblems()
    {
        File.WriteAllText(FilePath, Web);

        Assert.Empty(Check());
    }

    [Fact]
    public void Check_UnknownField_NamesItsPathAndLine_InsteadOfTheYamlLibrarysType()
    {
        File.WriteAllText(FilePath, Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  frobnicate: yes", StringComparison.Ordinal));

        var problem = Assert.Single(Check());

        Assert.Equal((9, "spec.frobnicate", "frobnicate"), (problem.Line, problem.Field, problem.Value));
        Assert.Equal($"{FilePath}:9: spec.frobnicate: unknown field 'frobnicate' of spec", problem.ToString());
        Assert.DoesNotContain("V1ServiceSpec", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_PortThatIsNotANumber_NamesTheFieldTheValueAndTheLine()
    {
        File.WriteAllText(FilePath, Web.Replace("port: 80", "port: eighty", StringComparison.Ordinal));

        var problem = Assert.Single(Check());

        Assert.Equal((11, "spec.ports[0].port", "eighty"), (problem.Line, problem.Field, problem.Value));
        Assert.Equal($"{FilePath}:11: spec.ports[0].port: 'eighty' is not a number; a port is a whole number from 1 to 65535", problem.ToString());
    }

    [Theory]
    [InlineData("0", "'0' must be from 1 to 86400 seconds; the default 10800 applies")]
    [InlineData("3h", "'3h' is not a number; a timeout is a whole number of seconds from 1 to 86400")]
    public void Check_AffinityTimeoutUnusable_NamesTheFieldTheValueAndTheLine(string written, string message)
    {
        File.WriteAllText(FilePath, Web.Replace("  type: LoadBalancer",
            $"  type: LoadBalancer\n  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: {written}", StringComparison.Ordinal));

        var problem = Assert.Single(Check());

        Assert.Equal($"{FilePath}:12: spec.sessionAffinityConfig.clientIP.timeoutSeconds: {message}", problem.ToString());
    }

    [Fact]
    public void Check_YamlSyntaxError_NamesLineAndColumnAndAShortReason()
    {
        File.WriteAllText(FilePath, "apiVersion: v1\nkind: Service\nmetadata: {name: web\nspec:\n  type: LoadBalancer\n");

        var problem = Assert.Single(Check());

        Assert.Equal(string.Empty, problem.Field);
        Assert.NotNull(problem.Line);
        Assert.StartsWith($"{FilePath}:{problem.Line}: YAML syntax error at column ", problem.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Idx:", problem.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_DuplicateKey_IsASyntaxErrorWithItsLine()
    {
        File.WriteAllText(FilePath, Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  type: ClusterIP", StringComparison.Ordinal));

        var problem = Assert.Single(Check());

        Assert.Equal(9, problem.Line);
        Assert.Contains("YAML syntax error at column 3", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_Directory_SaysItIsADirectory()
    {
        var problem = Assert.Single(ServiceFileCheck.Check(_directory, new StandaloneFileOptions()));

        Assert.Equal($"{_directory}: is a directory; name the YAML file in it", problem.ToString());
    }

    [Fact]
    public void Check_MissingFile_SaysNoSuchFile()
    {
        var problem = Assert.Single(Check());

        Assert.Equal($"{FilePath}: no such file", problem.ToString());
    }

    [Fact]
    public void Check_FileInAMissingDirectory_SaysNoSuchFile()
    {
        var path = Path.Combine(_directory, "missing", "services.yaml");

        Assert.Equal($"{path}: no such file", Assert.Single(ServiceFileCheck.Check(path, new StandaloneFileOptions())).ToString());
    }

    [Fact]
    public void Unreadable_AccessDenied_IsPermissionDenied()
    {
        // CI runs as root, which reads a file of mode 000 anyway (CAP_DAC_OVERRIDE): the mapping itself is what is tested.
        var problem = ServiceFileCheck.Unreadable("services.yaml", FilePath, new UnauthorizedAccessException("Access to the path is denied."));

        Assert.Equal("services.yaml: permission denied", problem.ToString());
    }

    [Fact]
    public void Check_TenKibAnnotation_IsShortenedWithItsLength_AndTheFullValueIsKept()
    {
        var value = new string('z', 10 * 1024);
        File.WriteAllText(FilePath, Web.Replace("    littlelb.io/backends:", $"    littlelb.io/balancing-policy: {value}\n    littlelb.io/backends:", StringComparison.Ordinal));

        var problem = Assert.Single(Check());

        Assert.Equal((6, "metadata.annotations[\"littlelb.io/balancing-policy\"]", value), (problem.Line, problem.Field, problem.Value));
        Assert.Contains($"'{value[..120]}…' (10240 characters)", problem.Message, StringComparison.Ordinal);
        Assert.True(problem.ToString().Length < 500, problem.ToString());
    }

    [Fact]
    public void Check_LoadBalancerIpWithATrailingSpace_ShowsItQuoted()
    {
        File.WriteAllText(FilePath, Web.Replace("  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerIP: \"192.0.2.1 \"", StringComparison.Ordinal));

        var problem = Assert.Single(Check());

        Assert.Equal($"{FilePath}:9: spec.loadBalancerIP: invalid IP address: '192.0.2.1 '", problem.ToString());
        Assert.Equal("192.0.2.1 ", problem.Value);
    }

    [Fact]
    public void Check_ValidationProblems_CarryTheLineOfTheirField()
    {
        File.WriteAllText(FilePath, Web.Replace("      port: 80", "      port: 70000\n    - name: dns\n      port: 53\n      protocol: SCTP", StringComparison.Ordinal));

        var problems = Check();

        Assert.Equal(
            [
                $"{FilePath}:11: spec.ports[0].port: port 70000 must be between 1 and 65535",
                $"{FilePath}:14: spec.ports[1].protocol: protocol 'SCTP' of port 53 must be TCP or UDP",
            ],
            problems.Select(problem => problem.ToString()));
    }

    [Fact]
    public void Check_SeveralProblemsInOneFile_AreAllReported_WithLinesCountedFromTheStartOfTheFile()
    {
        var second = Web.Replace("name: web", "name: api", StringComparison.Ordinal)
            .Replace("port: 80", "port: eighty", StringComparison.Ordinal)
            .Replace("  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerIp: 10.0.0.1", StringComparison.Ordinal);
        var third = Web.Replace("name: web", "name: dns", StringComparison.Ordinal)
            .Replace("    littlelb.io/backends:", "    littlelb.io/exclusive-ip: maybe\n    littlelb.io/backends:", StringComparison.Ordinal);
        File.WriteAllText(FilePath, $"{Web}\n---\n{second}\n---\n{third}\n");

        var problems = Check();

        // Web is lines 1-11, "---" line 12, the second document lines 13-24, "---" line 25, the third from line 26.
        Assert.Equal(
            [
                $"{FilePath}:21: spec.loadBalancerIp: unknown field 'loadBalancerIp'; did you mean 'loadBalancerIP'?",
                $"{FilePath}:24: spec.ports[0].port: 'eighty' is not a number; a port is a whole number from 1 to 65535",
                $"{FilePath}:31: metadata.annotations[\"littlelb.io/exclusive-ip\"]: 'maybe' must be \"true\" or \"false\"",
            ],
            problems.Select(problem => problem.ToString()));
    }

    [Fact]
    public void Check_NonServiceDocuments_AreSkippedWithoutProblems()
    {
        File.WriteAllText(FilePath, $"""
            apiVersion: apps/v1
            kind: DaemonSet
            metadata:
              name: echo
            spec:
              frobnicate: true
            ---
            {Web}
            """);

        Assert.Empty(Check());
    }

    [Theory]
    [InlineData("echo.yaml")]
    [InlineData("service-lb.yaml")]
    [InlineData("service-lb-new-addr.yaml")]
    [InlineData("dashboard-lb.yaml")]
    [InlineData("ip-conflict.yaml")]
    [InlineData("standalone.yaml")]
    [InlineData("proxy-protocol.yaml")]
    public void Check_Example_HasNoProblems(string example)
    {
        var path = Path.Combine(RepositoryRoot.Path, "examples", example);
        Assert.True(File.Exists(path), path);

        Assert.Empty(ServiceFileCheck.Check(path, new StandaloneFileOptions()).Select(problem => problem.ToString()));
    }

    [Fact]
    public void Check_IpConflictExample_HoldsThreeServices_TwoAskingForTheSameIpAndPort()
    {
        // The conflict is an allocation outcome, not a file mistake: the file reads as three Services.
        var file = StandaloneServiceFile.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "examples", "ip-conflict.yaml")));

        Assert.Equal(["svc1 192.168.0.225", "svc2 192.168.0.225", "svc3 "], file.Services.Select(service => $"{service.Key.Name} {service.Spec.LoadBalancerIp}"));
        Assert.All(file.Services, service => Assert.Equal(80, Assert.Single(service.Spec.Ports).Port));
    }

    [Fact]
    public void Check_ProxyProtocolExample_AsksForV2()
    {
        var file = StandaloneServiceFile.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "examples", "proxy-protocol.yaml")));

        Assert.Equal(LoadBalancer.Application.Forwarding.ProxyProtocolVersion.V2, Assert.Single(file.Services).ProxyProtocol);
    }

    private IReadOnlyList<ServiceFileProblem> Check() => ServiceFileCheck.Check(FilePath, new StandaloneFileOptions());
}

using LoadBalancer.Host.Tests.Support;

namespace LoadBalancer.Host.Tests.Tools;

public sealed class ConfigAndCheckCommandTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("llb-check-");
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose()
    {
        _directory.Delete(recursive: true);
        _output.Dispose();
        _error.Dispose();
    }

    [Fact]
    public async Task Config_PrintsEveryKeyWithItsValueAndSource()
    {
        var file = Write("config.yaml", "exclude: 192.168.0.225\nlinkDevice: eth0\n");

        var exitCode = await InProcess.RunAsync(["config", "--config", file, "--engine", "copy"], _output, _error,
            InProcess.Seams(TextWriter.Null, new Dictionary<string, string?> { ["LINK_DEVICE"] = "br0", ["LITTLELB_POLICY"] = "source-hash" }));

        Assert.Equal(0, exitCode);
        var lines = _output.ToString().ReplaceLineEndings("\n").Split('\n');
        Assert.Equal($"# configuration file: {file} (named by --config)", lines[0]);
        Assert.Contains("restrictedCidr = 192.168.0.224/28  (default)", lines);
        Assert.Contains($"exclude = 192.168.0.225  (file {file}:1)", lines);
        Assert.Contains("linkDevice = br0  (env LINK_DEVICE)", lines);
        Assert.Contains("policy = source-hash  (env LITTLELB_POLICY)", lines);
        Assert.Contains("engine = copy  (flag --engine)", lines);
        Assert.Contains("kubeconfig = (none)  (default)", lines);
        Assert.Empty(_error.ToString());
    }

    [Fact]
    public async Task Check_BadConfiguration_ReportsEveryProblemWithKeyQuotedValueAndSource_ExitOne()
    {
        var file = Write("config.yaml", "drainTimeout: soon\nengine: zero-copy\nrestrictedCidr: 10.0.0.5/24\n");

        var exitCode = await InProcess.RunAsync(["check", "--config", file], _output, _error,
            InProcess.Seams(TextWriter.Null, new Dictionary<string, string?> { ["DEBUG"] = "maybe" }));

        Assert.Equal(1, exitCode);
        Assert.Equal(
            [
                "error: debug: 'maybe' must be true or false (env DEBUG)",
                $"error: drainTimeout: 'soon' is not a duration (10s, 500ms, 2m, or seconds) (file {file}:1)",
                $"error: engine: 'zero-copy' must be io_uring, splice or copy (file {file}:2)",
                $"error: restrictedCidr: '10.0.0.5/24' is not a CIDR, range or address: host bits are set; the network is 10.0.0.0/24 (file {file}:3)",
            ],
            _error.ToString().Trim().ReplaceLineEndings("\n").Split('\n'));
        Assert.Equal($"configuration {file}: 4 problems", _output.ToString().Trim());
    }

    [Fact]
    public async Task Check_GoodConfiguration_ExitsZero()
    {
        var file = Write("config.json", """{ "restrictedCidr": "192.0.2.0/28", "drainTimeout": "5s" }""");

        var exitCode = await InProcess.RunAsync(["check", "--config", file], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Equal($"configuration {file}: no problems", _output.ToString().Trim());
    }

    [Fact]
    public async Task Check_ServicesFileThatDoesNotExist_IsAProblem()
    {
        var missing = Path.Combine(_directory.FullName, "services.yaml");

        var exitCode = await InProcess.RunAsync(["check", missing], _output, _error);

        Assert.Equal(1, exitCode);
        Assert.Equal($"error: {missing}: no such file", _error.ToString().Trim());
    }

    [Fact]
    public async Task Check_ServicesFileMistakes_EachWithFileLineFieldPathAndQuotedValue_ExitOne()
    {
        var file = Write("services.yaml", """
            apiVersion: v1
            kind: Service
            metadata:
              name: web
            spec:
              type: LoadBalancer
              frobnicate: yes
              ports:
                - port: eighty
            """);

        var exitCode = await InProcess.RunAsync(["check", file], _output, _error);

        Assert.Equal(1, exitCode);
        var errors = _error.ToString().ReplaceLineEndings("\n").Trim().Split('\n');
        Assert.Contains(errors, line => line.StartsWith($"error: {file}:7: spec.frobnicate: ", StringComparison.Ordinal));
        Assert.Contains(errors, line => line.StartsWith($"error: {file}:9: spec.ports[0].port: 'eighty' is not a number", StringComparison.Ordinal));
        Assert.EndsWith("2 problems", _output.ToString().Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_TheShippedExamplesAndTheSystemdConfiguration_HaveNoProblems()
    {
        var root = LoadBalancer.Tests.Shared.RepositoryRoot.Path;
        var examples = Directory.GetFiles(Path.Combine(root, "examples"), "*.yaml").Order(StringComparer.Ordinal).ToList();

        var exitCode = await InProcess.RunAsync(
            ["check", "--config", Path.Combine(root, "deploy", "systemd", "config.yaml"), .. examples], _output, _error);

        Assert.True(exitCode == 0, _error.ToString());
        Assert.True(examples.Count >= 6, string.Join(", ", examples));
        Assert.EndsWith($"and {examples.Count} Services files: no problems", _output.ToString().Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serving_WithAnInvalidConfiguration_ExitsTwoBeforeServing()
    {
        var exitCode = await InProcess.RunAsync(["standalone", "services.yaml", "--log-format", "xml"], _output, _error);

        Assert.Equal(2, exitCode);
        Assert.Equal("error: logFormat: 'xml' must be text, json or systemd (flag --log-format)", _error.ToString().Trim());
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }
}

using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Infrastructure.Standalone.State;

namespace LoadBalancer.Infrastructure.Tests.Standalone.State;

public sealed class StandaloneStatePathTests
{
    private const string ServicesFile = "/etc/littlelb/services.yaml";

    [Fact]
    public void Default_StateDirectorySet_UsesItsFirstEntryEvenForRoot()
    {
        var path = StandaloneStatePath.Default(ServicesFile, Environment(isRoot: true, ("STATE_DIRECTORY", "/var/lib/unit:/var/lib/other")));

        Assert.Equal(Path.Combine("/var/lib/unit", StandaloneStatePath.FileName(ServicesFile)), path);
    }

    [Fact]
    public void Default_Root_UsesVarLib()
    {
        var path = StandaloneStatePath.Default(ServicesFile, Environment(isRoot: true, ("XDG_STATE_HOME", "/home/u/.state")));

        Assert.Equal(Path.Combine("/var/lib/little-load-balancer", StandaloneStatePath.FileName(ServicesFile)), path);
    }

    [Fact]
    public void Default_UserWithXdgStateHome_UsesIt()
    {
        var path = StandaloneStatePath.Default(ServicesFile, Environment(isRoot: false, ("XDG_STATE_HOME", "/home/u/.state")));

        Assert.Equal(Path.Combine("/home/u/.state/little-load-balancer", StandaloneStatePath.FileName(ServicesFile)), path);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("relative/state")]
    public void Default_UserWithoutUsableXdgStateHome_UsesLocalStateInHome(string? xdg)
    {
        var path = StandaloneStatePath.Default(ServicesFile, Environment(isRoot: false, ("XDG_STATE_HOME", xdg)));

        Assert.Equal(Path.Combine("/home/u/.local/state/little-load-balancer", StandaloneStatePath.FileName(ServicesFile)), path);
    }

    [Fact]
    public void Default_NoHomeAndNothingElse_AsksForTheOption()
    {
        var environment = Environment(isRoot: false) with { Home = string.Empty };

        var failure = Assert.Throws<InvalidOperationException>(() => StandaloneStatePath.Default(ServicesFile, environment));

        Assert.Contains("--state-file", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileName_IsNameWithoutExtensionAndTheFirst8HexDigitsOfTheFullPathsSha256()
    {
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ServicesFile)))[..8];

        Assert.Equal($"services-{expected}.state.json", StandaloneStatePath.FileName(ServicesFile));
    }

    [Fact]
    public void FileName_SameNameInTwoDirectories_Differs()
    {
        Assert.NotEqual(StandaloneStatePath.FileName("/srv/a/services.yaml"), StandaloneStatePath.FileName("/srv/b/services.yaml"));
    }

    [Fact]
    public void FileName_RelativePath_IsHashedAsTheFullPath()
    {
        var relative = Path.Combine("config", "services.yaml");

        Assert.Equal(StandaloneStatePath.FileName(Path.GetFullPath(relative)), StandaloneStatePath.FileName(relative));
    }

    private static StandaloneStateEnvironment Environment(bool isRoot, params (string Name, string? Value)[] variables) => new()
    {
        Variable = name => variables.FirstOrDefault(variable => variable.Name == name).Value,
        IsRoot = isRoot,
        Home = "/home/u",
    };
}

using LoadBalancer.Host.CommandLine;

namespace LoadBalancer.Host.Tests.CommandLine;

public sealed class CommandLineParserTests
{
    [Fact]
    public void Parse_NoArguments_ShowsHelp()
    {
        var result = CommandLineParser.Parse([]);

        Assert.True(result.Succeeded);
        Assert.Equal(RunMode.Help, result.Options!.Mode);
    }

    [Fact]
    public void Parse_CheckPoolWithFlags_ReadsPoolAndExclusions()
    {
        var result = CommandLineParser.Parse(["check-pool", "--restricted-cidr", "10.0.0.0/24", "--exclude=10.0.0.7"]);

        Assert.True(result.Succeeded);
        Assert.Equal(new CommandLineOptions { Mode = RunMode.CheckPool, RestrictedCidr = "10.0.0.0/24", Exclude = "10.0.0.7" }, result.Options);
    }

    [Fact]
    public void Parse_NoPoolGiven_UsesTheOriginalsDefault()
    {
        var result = CommandLineParser.Parse(["check-pool"]);

        Assert.Equal("192.168.0.224/28", result.Options!.RestrictedCidr);
    }

    [Fact]
    public void Parse_SeveralMistakes_ReportsEveryOneNamingTheArgument()
    {
        var result = CommandLineParser.Parse(["--bogus", "frobnicate", "--restricted-cidr"]);

        Assert.False(result.Succeeded);
        Assert.Equal(
            ["unknown option '--bogus' (see --help)", "unknown command 'frobnicate' (see --help)", "option '--restricted-cidr' needs a value"],
            result.Errors);
    }

    [Fact]
    public void Parse_FlagFollowedByAnotherFlag_SaysTheValueIsMissing()
    {
        var result = CommandLineParser.Parse(["--restricted-cidr", "--exclude", "10.0.0.1"]);

        Assert.Contains("option '--restricted-cidr' needs a value", result.Errors);
    }

    [Fact]
    public void Parse_HelpWithOtherCommands_ShowsHelp()
    {
        Assert.Equal(RunMode.Help, CommandLineParser.Parse(["check-pool", "--help"]).Options!.Mode);
    }
}

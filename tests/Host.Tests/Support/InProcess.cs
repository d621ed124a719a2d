using System.CommandLine;
using LoadBalancer.Host.CommandLine;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Tests.Shared;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Tests.Support;

/// <summary>
/// The command line run in-process as a test needs it: an environment of the test's own (never the process's), no
/// configuration file unless the test writes one, and the log in a writer the test reads.
/// </summary>
internal static class InProcess
{
    /// <summary>Places where no configuration file is ever found.</summary>
    public static readonly ConfigurationFileLocations NoFiles = new()
    {
        SystemDirectory = "/nonexistent/llb-test/etc",
        HomeDirectory = "/nonexistent/llb-test/home",
        WorkingDirectory = "/nonexistent/llb-test/cwd",
    };

    /// <summary>
    /// The environment of a test that gives none: no admin endpoint, since many daemons run at once and would all try
    /// the default 127.0.0.1:9090 (the admin endpoint's own tests give --admin-address).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> NoAdminEndpoint = new Dictionary<string, string?> { ["LITTLELB_ADMINADDRESS"] = "none" };

    public static HostSeams Seams(TextWriter log, IReadOnlyDictionary<string, string?>? environment = null, ConfigurationFileLocations? files = null) => new()
    {
        Environment = environment ?? NoAdminEndpoint,
        ConfigurationFiles = files ?? NoFiles,
        Logging = logging => logging.AddProvider(new WriterLoggerProvider(log)),
        UnderSystemd = false,
    };

    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken stopping = default) =>
        LoadBalancerApp.RunAsync(args, output, error, stopping, Seams(error));

    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, HostSeams seams, CancellationToken stopping = default) =>
        LoadBalancerApp.RunAsync(args, output, error, stopping, seams);

    /// <summary>The configuration the command line <paramref name="args"/> would run with.</summary>
    public static LoadedConfiguration Configuration(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null, ConfigurationFileLocations? files = null)
    {
        var run = new RunContext(TextWriter.Null, TextWriter.Null, Seams(TextWriter.Null, environment, files));
        var tree = LoadBalancerCommands.Build(run);
        var parsed = tree.Root.Parse(args);
        Assert.Empty(parsed.Errors);
        return ConfigurationLayers.Load(tree.InputsOf(parsed)!);
    }

    /// <summary>The settings the command line <paramref name="args"/> would run with, after checking they are valid.</summary>
    public static DaemonSettings Settings(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var loaded = Configuration(args, environment);
        var settings = DaemonSettings.From(loaded.Root);
        Assert.Empty(new DaemonSettingsValidator(loaded).Problems(settings));
        return settings;
    }

    /// <summary>The parse errors of <paramref name="args"/>, as the command line prints them (without "error: ").</summary>
    public static IReadOnlyList<string> ParseErrors(IReadOnlyList<string> args) =>
        [.. LoadBalancerCommands.Create(new RunContext(TextWriter.Null, TextWriter.Null, HostSeams.None)).Parse(args).Errors.Select(error => error.Message)];
}

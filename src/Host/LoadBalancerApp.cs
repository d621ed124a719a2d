using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using LoadBalancer.Host.CommandLine;
using LoadBalancer.Host.Hosting;

namespace LoadBalancer.Host;

/// <summary>The command line's entry point, with its output streams passed in so tests can run it in-process.</summary>
public static class LoadBalancerApp
{
    public const int Success = ExitCodes.Success;
    public const int UsageError = ExitCodes.UsageError;

    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error) =>
        RunAsync(args, output, error, CancellationToken.None);

    /// <param name="cancellationToken">Stops the serving modes as SIGTERM does: they drain and exit 0.</param>
    /// <param name="seams">What a test replaces (environment, configuration file places, log providers); none when run.</param>
    public static Task<int> RunAsync(
        IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken, HostSeams? seams = null) =>
        RunAsync(LoadBalancerCommands.Create, args, output, error, seams, cancellationToken);

    /// <summary>The command line of the native forwarder (src/Forwarder): <c>loadbalancer forward</c> and nothing else.</summary>
    public static Task<int> RunForwardOnlyAsync(
        IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken, HostSeams? seams = null) =>
        RunAsync(LoadBalancerCommands.CreateForwardOnly, args, output, error, seams, cancellationToken);

    private static async Task<int> RunAsync(
        Func<RunContext, System.CommandLine.Command> commands, IReadOnlyList<string> args, TextWriter output, TextWriter error,
        HostSeams? seams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);

        // The serving modes write from listener and watcher threads too.
        var run = new RunContext(TextWriter.Synchronized(output), TextWriter.Synchronized(error), seams ?? HostSeams.None);
        var parsed = commands(run).Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            return await run.FailAsync(UsageError, parsed.Errors.Select(problem => problem.Message)).ConfigureAwait(false);
        }

        // Signals are the host's (its console lifetime stops on SIGINT, SIGTERM and SIGQUIT and drains), not the parser's.
        return await parsed.InvokeAsync(
            new InvocationConfiguration { Output = run.Output, Error = run.Error, ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false },
            cancellationToken).ConfigureAwait(false);
    }

    public static string Version =>
        typeof(LoadBalancerApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            .Split('+')[0] ?? "unknown";
}

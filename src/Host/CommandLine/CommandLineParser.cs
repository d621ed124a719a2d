namespace LoadBalancer.Host.CommandLine;

/// <summary>
/// A small parser on purpose: a handful of flags, each error naming the flag and the value. Every problem is reported at
/// once.
/// </summary>
public static class CommandLineParser
{
    public const string Usage = """
        Usage: loadbalancer [command] [options]

        Little Load Balancer: Services of type LoadBalancer on bare metal, k3d and VMs.

        Commands:
          check-pool              Parse the pool, print its size and first addresses, and exit
                                  (0 when it is valid, 2 when it is not).

        Options:
          --restricted-cidr LIST  The pool IPs are allocated from: CIDRs, first-last ranges or single
                                  addresses, IPv4 or IPv6, comma-separated (default 192.168.0.224/28).
          --exclude LIST          Addresses, CIDRs or ranges never handed out.
          -h, --help              Show this help.
          --version               Show the version.
        """;

    public static CommandLineParseResult Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new CommandLineOptions();
        var errors = new List<string>();
        RunMode? mode = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var (flag, inlineValue) = SplitInlineValue(arg);
            switch (flag)
            {
                case "-h" or "--help":
                    mode = RunMode.Help;
                    break;
                case "--version":
                    mode ??= RunMode.Version;
                    break;
                case "check-pool":
                    mode ??= RunMode.CheckPool;
                    break;
                case "--restricted-cidr":
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } pool)
                    {
                        options = options with { RestrictedCidr = pool };
                    }

                    break;
                case "--exclude":
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } exclude)
                    {
                        options = options with { Exclude = exclude };
                    }

                    break;
                default:
                    errors.Add(arg.StartsWith('-')
                        ? $"unknown option '{arg}' (see --help)"
                        : $"unknown command '{arg}' (see --help)");
                    break;
            }
        }

        return new CommandLineParseResult(options with { Mode = mode ?? RunMode.Help }, errors);
    }

    private static (string Flag, string? Value) SplitInlineValue(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? (arg[..equals], arg[(equals + 1)..]) : (arg, null);
    }

    private static string? TakeValue(IReadOnlyList<string> args, ref int index, string flag, string? inlineValue, List<string> errors)
    {
        if (inlineValue is not null)
        {
            if (inlineValue.Length == 0)
            {
                errors.Add($"option '{flag}' needs a value");
                return null;
            }

            return inlineValue;
        }

        if (index + 1 >= args.Count || args[index + 1].StartsWith("--", StringComparison.Ordinal))
        {
            errors.Add($"option '{flag}' needs a value");
            return null;
        }

        index++;
        return args[index];
    }
}

using System.Net.Sockets;
using LoadBalancer.Infrastructure.Os;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding;

/// <summary>
/// Running out of file descriptors: the forwarder's <see cref="ConnectionBudget"/> spent, or an accept or a backend
/// socket failing with EMFILE or ENFILE. Either is the process's limit, not a backend's fault. One warning per window for
/// the whole forwarder names the limit and how to raise it; the engines refuse or reset the client, pause accepting, and
/// report nothing against a backend.
/// </summary>
internal sealed class DescriptorExhaustion
{
    private const int Enfile = 23;
    private const int Emfile = 24;

    private readonly ILogger _logger;
    private readonly LogRateLimiter _log;

    /// <param name="budget">Shared by every listener of the forwarder; by default two descriptors per connection.</param>
    public DescriptorExhaustion(TimeProvider time, ILogger logger, ConnectionBudget? budget = null)
    {
        _logger = logger;
        Budget = budget ?? new ConnectionBudget(descriptorsPerConnection: 2);
        _log = new LogRateLimiter(time, (count, since) =>
            ForwardingLog.DescriptorsStillExhausted(logger, count, ForwardingLog.Seconds(since), Limit()));
    }

    /// <summary>The connections the forwarder may hold at once.</summary>
    public ConnectionBudget Budget { get; }

    public static bool IsExhaustion(int errno) => errno is Emfile or Enfile;

    /// <summary>.NET maps both EMFILE and ENFILE to this one code.</summary>
    public static bool IsExhaustion(SocketException exception) =>
        exception is { SocketErrorCode: SocketError.TooManyOpenSockets };

    /// <param name="operation">What failed: "accept", "backend socket".</param>
    /// <param name="errno">EMFILE or ENFILE when the engine knows which; null when .NET folded them together.</param>
    public void Report(string listener, string operation, int? errno)
    {
        if (_log.TryEnter())
        {
            var limits = FileDescriptorLimit.Current();
            ForwardingLog.OutOfDescriptors(_logger, operation, listener, Cause(errno), Limit(limits),
                limits is { } known ? DescriptorLimits.Describe(known.Hard) : "unknown");
        }
    }

    /// <summary>A client refused because <see cref="Budget"/> is spent.</summary>
    public void ReportBudgetSpent(string listener)
    {
        if (_log.TryEnter())
        {
            var limits = Budget.Limits;
            ForwardingLog.ConnectionBudgetSpent(_logger, listener, Budget.Open, Limit(limits),
                limits is { } known ? ConnectionBudget.Reserve(known.Soft) : ConnectionBudget.MinimumReserve, Budget.DescriptorsPerConnection);
        }
    }

    public void Flush() => _log.Flush();

    private static string Cause(int? errno) => errno switch
    {
        Emfile => "EMFILE: this process has as many open files as its limit allows",
        Enfile => "ENFILE: the system-wide table of open files is full (sysctl fs.file-max)",
        _ => "too many open files (EMFILE or ENFILE)",
    };

    private static string Limit(DescriptorLimits? limits = null) =>
        (limits ?? FileDescriptorLimit.Current()) is { } known ? DescriptorLimits.Describe(known.Soft) : "unknown";
}

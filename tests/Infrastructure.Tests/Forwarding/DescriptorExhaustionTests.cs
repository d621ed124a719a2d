using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Os;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// What the engines do with EMFILE/ENFILE (an accept or a backend socket that found no descriptor): one warning for
/// all the listeners of a forwarder, naming the limit and how to raise it, and nothing against any backend.
/// </summary>
public sealed class DescriptorExhaustionTests
{
    private const int OutOfDescriptorsId = 2050;
    private const int StillOutOfDescriptorsId = 2051;
    private readonly FakeTimeProvider _time = new();
    private readonly CapturingLogger<DescriptorExhaustionTests> _logger = new();

    [Theory]
    [InlineData(24, "EMFILE: this process has as many open files as its limit allows")]
    [InlineData(23, "ENFILE: the system-wide table of open files is full (sysctl fs.file-max)")]
    [InlineData(null, "too many open files (EMFILE or ENFILE)")]
    public void FirstFailure_IsOneWarning_NamingTheCause_TheSoftLimit_AndHowToRaiseIt(int? errno, string cause)
    {
        var context = Create("127.0.60.1", 80, new DescriptorExhaustion(_time, _logger));
        var soft = FileDescriptorLimit.Current()!.Value.Soft.ToString(CultureInfo.InvariantCulture);

        context.OutOfDescriptors("accept", errno, clientReset: false);

        var line = Assert.Single(_logger.Entries);
        Assert.Equal(OutOfDescriptorsId, line.EventId.Id);
        Assert.Equal(
            $"Out of file descriptors: accept on 127.0.60.1:80 (default/web) failed with {cause}. The soft limit RLIMIT_NOFILE is {soft} (hard "
            + $"{FileDescriptorLimit.Current()!.Value.Hard.ToString(CultureInfo.InvariantCulture)}); raise it with LimitNOFILE= in the systemd unit, `ulimit -n` in the shell that starts the daemon, "
            + "or the container's nofile ulimit. Clients are reset meanwhile and not held against the backends (further such failures are counted for 60 s)",
            line.Message);
    }

    [Fact]
    public void ManyFailuresOnSeveralListeners_OneWarning_ThenOneSummaryAtTheWindowsEnd()
    {
        var shared = new DescriptorExhaustion(_time, _logger);
        var first = Create("127.0.60.1", 80, shared);
        var second = Create("127.0.60.2", 443, shared);

        for (var i = 0; i < 500; i++)
        {
            (i % 2 == 0 ? first : second).OutOfDescriptors(i % 3 == 0 ? "accept" : "backend socket", 24, clientReset: i % 3 != 0);
        }

        Assert.Single(_logger.Entries);
        _time.Advance(LogRateLimiter.DefaultWindow);
        var summary = Assert.Single(_logger.Entries, entry => entry.EventId.Id == StillOutOfDescriptorsId);
        Assert.StartsWith("499 more clients were refused, or accepts or backend sockets failed, for want of file descriptors in the last 60 s (soft RLIMIT_NOFILE ", summary.Message, StringComparison.Ordinal);
        Assert.EndsWith("; see LimitNOFILE / ulimit -n)", summary.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BackendSocketFailure_CountsTheResetClientOnTheListener_AnAcceptFailureCountsNoClient()
    {
        var context = Create("127.0.60.1", 80, new DescriptorExhaustion(_time, _logger));

        context.OutOfDescriptors("backend socket", 24, clientReset: true);
        context.OutOfDescriptors("accept", 24, clientReset: false);

        Assert.Equal(1, context.Counters.Snapshot().ConnectionsFailed);
        Assert.DoesNotContain(_logger.Entries, entry => entry.EventId.Id is 2005 or 2006 or 2013 or 2014);
    }

    [Fact]
    public void BudgetSpent_RefusesOnEveryListener_WarnsOnceNamingTheLimit_AndAClosedConnectionFreesAPlace()
    {
        // 200 − 0 open − 64 reserved = 136 descriptors: 68 connections of two.
        var budget = new ConnectionBudget(2, () => new DescriptorLimits(200, 200), () => 0);
        var shared = new DescriptorExhaustion(_time, _logger, budget);
        var first = Create("127.0.60.1", 80, shared);
        var second = Create("127.0.60.2", 443, shared);
        for (var i = 0; i < 68; i++)
        {
            Assert.True((i % 2 == 0 ? first : second).TryAdmit(first.Route));
        }

        Assert.False(first.TryAdmit(first.Route));
        Assert.False(second.TryAdmit(second.Route));

        var line = Assert.Single(_logger.Entries);
        Assert.Equal(2052, line.EventId.Id);
        Assert.StartsWith("Out of file descriptors for new connections: 68 are open, as many as the open-files limit leaves room for "
            + "(The soft limit RLIMIT_NOFILE is 200; each connection holds up to 2 and 64 are kept for the daemon itself). Clients of 127.0.60.1:80 (default/web)",
            line.Message, StringComparison.Ordinal);
        Assert.Contains("LimitNOFILE=", line.Message, StringComparison.Ordinal);
        Assert.Equal(1, first.Counters.Snapshot().ConnectionsRejected);
        Assert.Equal(1, second.Counters.Snapshot().ConnectionsRejected);

        second.ConnectionClosed();
        Assert.True(first.TryAdmit(first.Route));
        Assert.Equal(68, budget.Open);
    }

    [Fact]
    public void ListenerLimit_RefusesWithoutHoldingAPlaceOfTheBudget()
    {
        var budget = new ConnectionBudget(2, () => new DescriptorLimits(200, 200), () => 0);
        var context = Create("127.0.60.1", 80, new DescriptorExhaustion(_time, _logger, budget));
        var limited = new ListenerRoute(BackendSnapshot.Empty, new RoundRobinPolicy(), 1);

        Assert.True(context.TryAdmit(limited));
        Assert.False(context.TryAdmit(limited));

        Assert.Equal(1, budget.Open);
        Assert.Empty(_logger.Entries);
    }

    [Theory]
    [InlineData(24, true)]
    [InlineData(23, true)]
    [InlineData(111, false)]
    public void IsExhaustion_ByErrno(int errno, bool expected) => Assert.Equal(expected, DescriptorExhaustion.IsExhaustion(errno));

    [Fact]
    public void IsExhaustion_ByTheSocketErrorDotNetMapsBothTo()
    {
        Assert.True(DescriptorExhaustion.IsExhaustion(new SocketException((int)SocketError.TooManyOpenSockets)));
        Assert.False(DescriptorExhaustion.IsExhaustion(new SocketException((int)SocketError.ConnectionRefused)));
    }

    private ListenerContext Create(string ip, int port, DescriptorExhaustion descriptors)
    {
        var binding = new PortBinding(IPAddress.Parse(ip), ServicePort.Tcp(port));
        return new ListenerContext(binding, $"{binding} (default/web)", new ListenerRoute(BackendSnapshot.Empty, new RoundRobinPolicy(), null),
            new ForwarderOptions(), _time, _logger, descriptors);
    }
}

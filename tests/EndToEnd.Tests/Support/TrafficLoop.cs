using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.EndToEnd.Tests.Support;

/// <summary>
/// A client that asks one Service through its LB IP on a new connection every few milliseconds, for as long as it
/// runs, and keeps every failed attempt and the longest time between two answers, so that a test can show that a
/// Service was served without interruption while other Services were refused.
/// </summary>
internal sealed class TrafficLoop : IAsyncDisposable
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(50);

    private readonly string _ip;
    private readonly int _port;
    private readonly string _expected;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(TimeSpan At, string What)> _failures = [];
    private readonly Task _asking;
    private long _answers;
    private TimeSpan _lastAnswer;
    private TimeSpan _longestGap;

    /// <param name="expected">The answer to "ping" that counts as served, e.g. "healthy:ping".</param>
    public TrafficLoop(string ip, int port, string expected)
    {
        _ip = ip;
        _port = port;
        _expected = expected;
        _asking = AskAsync();
    }

    /// <summary>A point in the loop's time, to ask later what failed after it.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public long Answers => Interlocked.Read(ref _answers);

    /// <summary>The longest time between two answers (or since the last one): an interruption shows here.</summary>
    public TimeSpan LongestGap
    {
        get
        {
            lock (_failures)
            {
                var sinceLast = Answers > 0 ? _clock.Elapsed - _lastAnswer : TimeSpan.Zero;
                return sinceLast > _longestGap ? sinceLast : _longestGap;
            }
        }
    }

    /// <summary>The attempts since <paramref name="since"/> that got no answer or a wrong one, as text.</summary>
    public IReadOnlyList<string> FailuresSince(TimeSpan since)
    {
        lock (_failures)
        {
            return [.. _failures.Where(failure => failure.At >= since).Select(failure => $"{failure.At.TotalSeconds:F2} s: {failure.What}")];
        }
    }

    public override string ToString() =>
        $"traffic to {_ip}:{_port}: {Answers} answers, longest gap {LongestGap.TotalMilliseconds:F0} ms, {FailuresSince(TimeSpan.Zero).Count} failures";

    private async Task AskAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var (answer, failure) = await PingAsync();
            lock (_failures)
            {
                var at = _clock.Elapsed;
                if (answer == _expected)
                {
                    _answers++;
                    if (_answers > 1 && at - _lastAnswer > _longestGap)
                    {
                        _longestGap = at - _lastAnswer;
                    }

                    _lastAnswer = at;
                }
                else
                {
                    _failures.Add((at, failure));
                }
            }

            try
            {
                await Task.Delay(Pause, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>"ping" on a new connection: the answer, or what went wrong (kept in the failures).</summary>
    private async Task<(string? Answer, string Failure)> PingAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Parse(_ip), _port, timeout.Token);
        }
        catch (Exception failure) when (failure is SocketException or OperationCanceledException)
        {
            return (null, $"connect failed: {(failure as SocketException)?.SocketErrorCode.ToString() ?? "timeout"}");
        }

        try
        {
            var stream = client.GetStream();
            await stream.WriteAsync("ping\n"u8.ToArray(), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var answer = await reader.ReadLineAsync(timeout.Token);
            return (answer, answer is null ? "connected, closed without an answer" : $"answered '{answer}'");
        }
        catch (Exception failure) when (failure is IOException or SocketException or OperationCanceledException)
        {
            return (null, $"connected, then {failure.GetType().Name}: {failure.Message}");
        }
    }

    /// <summary>Stops asking; what it counted stays readable.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        await _asking;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}

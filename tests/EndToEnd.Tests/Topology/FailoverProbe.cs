using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// The client's view of an outage: from the client machine, a new connection to a Service every
/// <see cref="Pause"/> (without waiting for the one before), each bounded by a short timeout and asked "who", every attempt recorded on one clock that the
/// test also reads to mark its failure. The gap is what a user would see: the last answer before the mark to the first
/// answer from a connection opened after it.
/// </summary>
internal sealed class FailoverProbe : IDisposable
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(25);

    /// <summary>Short enough that the probe notices a dead path quickly, long enough for a busy 2-vCPU machine to connect.</summary>
    private static readonly TimeSpan ConnectLimit = TimeSpan.FromMilliseconds(300);

    /// <summary>Once connected the path works; the answer only has to cross the daemon and reach a node and back.</summary>
    private static readonly TimeSpan AnswerLimit = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly List<Attempt> _attempts = [];
    private readonly Thread _thread;
    private readonly IPEndPoint _service;
    private volatile bool _stopping;

    private FailoverProbe(Machine client, string ip, int port)
    {
        _service = new IPEndPoint(IPAddress.Parse(ip), port);
        // One thread inside the client's namespace for the whole run: every socket it makes is the client's.
        _thread = new Thread(() => client.Namespace.Run(Loop)) { IsBackground = true, Name = $"probe {ip}:{port}" };
    }

    /// <summary>The probe's clock; marks taken from it compare with the attempts' times.</summary>
    public Stopwatch Clock { get; } = new();

    /// <summary>One connection: when it started and ended on <see cref="Clock"/>, and who answered (null: refused, timed out, reset).</summary>
    public readonly record struct Attempt(TimeSpan Started, TimeSpan Ended, string? Answer);

    public static FailoverProbe Start(Machine client, string ip, int port)
    {
        var probe = new FailoverProbe(client, ip, port);
        probe.Clock.Start();
        probe._thread.Start();
        return probe;
    }

    public IReadOnlyList<Attempt> Attempts
    {
        get
        {
            lock (_gate)
            {
                // Recorded as they end; read in the order they started.
                return [.. _attempts.OrderBy(attempt => attempt.Started)];
            }
        }
    }

    /// <summary>The last answered attempt that ended before <paramref name="mark"/>; null when there was none.</summary>
    public Attempt? LastAnswerBefore(TimeSpan mark) =>
        Attempts.Where(attempt => attempt.Answer is not null && attempt.Ended <= mark).Select(attempt => (Attempt?)attempt).LastOrDefault();

    /// <summary>The first answered attempt started at or after <paramref name="mark"/>; null when there is none yet.</summary>
    public Attempt? FirstAnswerFrom(TimeSpan mark) =>
        Attempts.Where(attempt => attempt.Answer is not null && attempt.Started >= mark).Select(attempt => (Attempt?)attempt).FirstOrDefault();

    /// <summary>Waits (bounded) for the first answered attempt started at or after <paramref name="mark"/>.</summary>
    public async Task<Attempt?> FirstAnswerFromAsync(TimeSpan mark, TimeSpan limit)
    {
        var deadline = Clock.Elapsed + limit;
        while (Clock.Elapsed < deadline)
        {
            if (FirstAnswerFrom(mark) is { } answered)
            {
                return answered;
            }

            await Task.Delay(Pause);
        }

        return FirstAnswerFrom(mark);
    }

    /// <summary>
    /// The longest time the client went without an answer between the answers that ended at <paramref name="from"/>
    /// and at <paramref name="to"/>: when the outage had answers in the middle (an old leader draining), its worst part.
    /// </summary>
    public (TimeSpan Length, TimeSpan Start) LongestSilence(TimeSpan from, TimeSpan to)
    {
        var ends = Attempts.Where(a => a.Answer is not null && a.Ended >= from && a.Ended <= to).Select(a => a.Ended).Order().ToList();
        var longest = (Length: TimeSpan.Zero, Start: from);
        for (var next = 1; next < ends.Count; next++)
        {
            if (ends[next] - ends[next - 1] > longest.Length)
            {
                longest = (ends[next] - ends[next - 1], ends[next - 1]);
            }
        }

        return longest;
    }

    /// <summary>
    /// The attempts between two times as runs relative to <paramref name="origin"/>, e.g. "answered ×3 (−70…−20 ms),
    /// none ×40 (+5…+2500 ms), answered ×1 (+2520 ms)": what the client saw around a failure.
    /// </summary>
    public string Timeline(TimeSpan from, TimeSpan to, TimeSpan origin)
    {
        var runs = new List<string>();
        var window = Attempts.Where(a => a.Started >= from && a.Started <= to).ToList();
        for (var first = 0; first < window.Count;)
        {
            var answered = window[first].Answer is not null;
            var last = first;
            while (last + 1 < window.Count && (window[last + 1].Answer is not null) == answered)
            {
                last++;
            }

            var start = (window[first].Started - origin).TotalMilliseconds;
            var end = (window[last].Ended - origin).TotalMilliseconds;
            runs.Add($"{(answered ? "answered" : "none")} ×{last - first + 1} ({start:+0;-0}…{end:+0;-0} ms)");
            first = last + 1;
        }

        return string.Join(", ", runs);
    }

    /// <summary>The attempts between two times, e.g. "node1 ×3, (none) ×40, node2 ×1": who answered.</summary>
    public string Summary(TimeSpan from, TimeSpan to) =>
        string.Join(", ", Attempts
            .Where(attempt => attempt.Started >= from && attempt.Started <= to)
            .GroupBy(attempt => attempt.Answer ?? "(none)")
            .Select(group => $"{group.Key} ×{group.Count()}"));

    public void Dispose()
    {
        _stopping = true;
        _thread.Join(TimeSpan.FromSeconds(5));
    }

    private void Loop()
    {
        var pending = new List<Task>();
        while (!_stopping)
        {
            // Made on this thread, so in the client's namespace; then asked without waiting, so that a path that drops
            // packets (a connect that only times out) does not hide when it comes back: the next attempt is already out.
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            pending.Add(RecordAsync(socket, Clock.Elapsed));
            pending.RemoveAll(task => task.IsCompleted);
            Thread.Sleep(Pause);
        }

        Task.WaitAll([.. pending], ConnectLimit + AnswerLimit + TimeSpan.FromSeconds(1));
    }

    private async Task RecordAsync(Socket socket, TimeSpan started)
    {
        string? answer;
        using (socket)
        {
            answer = await AskAsync(socket);
        }

        lock (_gate)
        {
            _attempts.Add(new Attempt(started, Clock.Elapsed, answer));
        }
    }

    /// <summary>Which node answered one new connection, or null when it did not within the limits.</summary>
    private async Task<string?> AskAsync(Socket socket)
    {
        try
        {
            using (var timeout = new CancellationTokenSource(ConnectLimit))
            {
                await socket.ConnectAsync(_service, timeout.Token);
            }

            using var answerTimeout = new CancellationTokenSource(AnswerLimit);
            await socket.SendAsync("who\n"u8.ToArray(), answerTimeout.Token);
            var line = new StringBuilder();
            var buffer = new byte[256];
            while (!line.ToString().Contains('\n', StringComparison.Ordinal))
            {
                var read = await socket.ReceiveAsync(buffer, answerTimeout.Token);
                if (read == 0)
                {
                    return null;
                }

                line.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            // The backend answers "NODE:who".
            return line.ToString().Split(':')[0];
        }
        catch (Exception failure) when (failure is SocketException or OperationCanceledException)
        {
            return null;
        }
    }
}

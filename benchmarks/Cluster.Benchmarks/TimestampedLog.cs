using System.Diagnostics;
using System.Text;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>
/// The in-process daemon's log: every line with the <see cref="Stopwatch"/> timestamp at which it was written, so that
/// the steps of one Service (listener started, status written, applied) can be placed on the benchmark's clock.
/// </summary>
internal sealed class TimestampedLog : TextWriter
{
    private readonly List<(long At, string Line)> _lines = [];
    private readonly StringBuilder _partial = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void WriteLine(string? value)
    {
        var at = Stopwatch.GetTimestamp();
        lock (_lines)
        {
            _lines.Add((at, _partial + value));
            _partial.Clear();
        }
    }

    public override void Write(char value)
    {
        lock (_lines)
        {
            _partial.Append(value);
        }
    }

    /// <summary>The timestamp of the first line written at or after <paramref name="since"/> that contains every fragment.</summary>
    public long? FirstAfter(long since, params string[] fragments)
    {
        lock (_lines)
        {
            foreach (var (at, line) in _lines)
            {
                if (at >= since && fragments.All(fragment => line.Contains(fragment, StringComparison.Ordinal)))
                {
                    return at;
                }
            }
        }

        return null;
    }

    public IReadOnlyList<string> Lines(Func<string, bool> predicate)
    {
        lock (_lines)
        {
            return [.. _lines.Select(entry => entry.Line).Where(predicate)];
        }
    }
}

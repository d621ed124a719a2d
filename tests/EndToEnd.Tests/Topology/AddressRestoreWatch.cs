using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using LoadBalancer.Host.Tests;
using LoadBalancer.Infrastructure.Tests.Networking.Support;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// <c>ip -ts monitor address</c> inside a machine: the kernel's address notifications as they happen, each stamped by
/// the one process that read them, so the time between a deletion and the address coming back is measured without
/// the delay of polling or of starting a command. Disposing kills that process (by its PID) if it still runs.
/// </summary>
internal sealed partial class AddressRestoreWatch : IDisposable
{
    /// <summary>An address only the watch itself adds (on lo, which the daemon leaves alone), to know it is listening.</summary>
    private const string Marker = "192.0.2.250";

    private readonly Lock _gate = new();
    private readonly List<Change> _changes = [];
    private readonly Process _process;

    private AddressRestoreWatch(Process process) => _process = process;

    /// <summary>One notification: when <c>ip</c> read it, whether the address was deleted or added, and its line.</summary>
    public readonly record struct Change(DateTime At, bool Deleted, string Address, string Line);

    /// <summary>Starts the watch in <paramref name="machine"/> and returns once it has seen a notification (bounded).</summary>
    public static async Task<AddressRestoreWatch> StartAsync(Machine machine, TimeSpan limit)
    {
        var start = new ProcessStartInfo(RootRequirement.IpToolPath() ?? "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-n", machine.Name, "-ts", "monitor", "address" })
        {
            start.ArgumentList.Add(argument);
        }

        var watch = new AddressRestoreWatch(new Process { StartInfo = start });
        watch._process.OutputDataReceived += (_, line) => watch.Read(line.Data);
        watch._process.ErrorDataReceived += (_, _) => { };
        watch._process.Start();
        watch._process.BeginOutputReadLine();
        watch._process.BeginErrorReadLine();
        try
        {
            // `ip monitor` gives no sign that it has subscribed: a change of its own, seen, is that sign.
            machine.Exec($"ip addr add {Marker}/32 dev lo && ip addr del {Marker}/32 dev lo");
            if (!await Net.EventuallyAsync(() => watch.Of(Marker).Any(change => change.Deleted), limit))
            {
                throw new TimeoutException($"`ip monitor address` in {machine} saw nothing within {limit.TotalSeconds:F0} s");
            }

            return watch;
        }
        catch
        {
            watch.Dispose();
            throw;
        }
    }

    /// <summary>The notifications about <paramref name="address"/> so far, in order.</summary>
    public IReadOnlyList<Change> Of(string address)
    {
        lock (_gate)
        {
            return [.. _changes.Where(change => change.Address == address)];
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It ended on its own between the check and the kill.
        }

        _process.Dispose();
    }

    private void Read(string? line)
    {
        // "[2026-12-06T00:26:58.562272] Deleted 1: lo    inet 192.0.2.250/32 scope global lo"; the valid_lft line that
        // follows has no stamp and is skipped.
        if (line is null || Notification().Match(line) is not { Success: true } match)
        {
            return;
        }

        var at = DateTime.ParseExact(match.Groups["at"].Value, "yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        lock (_gate)
        {
            _changes.Add(new Change(at, match.Groups["deleted"].Success, match.Groups["address"].Value, line));
        }
    }

    [GeneratedRegex(@"^\[(?<at>[^\]]+)\] (?<deleted>Deleted )?\d+: \S+\s+inet6? (?<address>[^/ ]+)/")]
    private static partial Regex Notification();
}

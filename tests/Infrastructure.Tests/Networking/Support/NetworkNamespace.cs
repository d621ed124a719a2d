using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace LoadBalancer.Infrastructure.Tests.Networking.Support;

/// <summary>
/// A named network namespace (`ip netns add`) that a test owns: code runs inside it on a dedicated thread, shell
/// commands run inside it through `ip netns exec`, and disposing deletes it with everything in it (veth ends, addresses).
/// </summary>
/// <remarks>
/// A socket keeps the namespace it was created in for its whole life, so a socket created in <see cref="Run{T}"/> can
/// be used afterwards from any thread. Continuations after an <c>await</c> inside the action run on pool threads in the
/// host namespace; create sockets before awaiting, or block on the task inside the action.
/// </remarks>
internal sealed partial class NetworkNamespace : IDisposable
{
    private const int CloneNewNet = 0x40000000;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    // Namespaces created and not yet deleted, deleted at process exit should a test (or a crash in one) leave any.
    private static readonly ConcurrentDictionary<string, byte> Live = new(StringComparer.Ordinal);

    private int _disposed;

    static NetworkNamespace() => AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteLeftovers();

    private NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    public static NetworkNamespace Create()
    {
        var name = "llb-test-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        RunIp("netns", "add", name);
        Live.TryAdd(name, 0);
        var created = new NetworkNamespace(name);
        try
        {
            RunIp("-n", name, "link", "set", "lo", "up");
            return created;
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Two namespaces joined by a veth pair, both ends up, with the given addresses (IPv6 ones without duplicate
    /// address detection, so they are usable at once). Whatever was created is deleted if a step fails.
    /// </summary>
    public static (NetworkNamespace Left, NetworkNamespace Right) CreateVethPair(
        string leftDevice, string rightDevice, string? leftAddressCidr, string? rightAddressCidr)
    {
        NetworkNamespace? left = null;
        NetworkNamespace? right = null;
        try
        {
            left = Create();
            right = Create();
            // Created inside the left namespace with the peer placed straight in the right one: no device ever
            // appears in the host namespace, so parallel tests cannot collide on device names.
            RunIp("-n", left.Name, "link", "add", leftDevice, "type", "veth", "peer", "name", rightDevice, "netns", right.Name);
            Configure(left, leftDevice, leftAddressCidr);
            Configure(right, rightDevice, rightAddressCidr);
            return (left, right);
        }
        catch
        {
            right?.Dispose();
            left?.Dispose();
            throw;
        }

        static void Configure(NetworkNamespace space, string device, string? cidr)
        {
            if (cidr is not null)
            {
                string[] add = ["-n", space.Name, "address", "add", cidr, "dev", device];
                RunIp(cidr.Contains(':', StringComparison.Ordinal) ? [.. add, "nodad"] : add);
            }

            RunIp("-n", space.Name, "link", "set", device, "up");
        }
    }

    public T Run<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        T result = default!;
        ExceptionDispatchInfo? failure = null;
        // A fresh thread, because setns changes the calling thread only and a pool thread would carry the namespace
        // into unrelated work; the thread ends with the action, so the namespace goes with it.
        var thread = new Thread(() =>
        {
            try
            {
                Enter();
                result = action();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = "netns " + Name,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    public void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Run(() =>
        {
            action();
            return true;
        });
    }

    /// <summary>Runs a shell command inside the namespace and answers its standard output.</summary>
    public string Exec(string shellCommand)
    {
        ArgumentNullException.ThrowIfNull(shellCommand);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return RunIp("netns", "exec", Name, "sh", "-c", shellCommand);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        TryDelete(Name);
    }

    private void Enter()
    {
        using SafeFileHandle handle = File.OpenHandle(Path.Combine("/var/run/netns", Name), FileMode.Open, FileAccess.Read);
        if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
        {
            throw new InvalidOperationException(
                $"setns into network namespace {Name} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static void TryDelete(string name)
    {
        try
        {
            RunIp("netns", "del", name);
        }
        catch (InvalidOperationException)
        {
            // Already gone (or never fully made); the namespace must not outlive the test, but cleanup must not fail it.
        }

        Live.TryRemove(name, out _);
    }

    private static void DeleteLeftovers()
    {
        foreach (var name in Live.Keys)
        {
            TryDelete(name);
        }
    }

    /// <summary>Runs `ip` with the arguments, bounded by a timeout; answers stdout or throws with the whole story.</summary>
    private static string RunIp(params string[] arguments)
    {
        var start = new ProcessStartInfo(RootRequirement.IpToolPath() ?? "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var command = "ip " + string.Join(' ', arguments);
        using var process = Process.Start(start)
            ?? throw new InvalidOperationException($"could not start: {command}");
        // Disposing the Process does not close redirected streams; their pipes would stay open until a GC, and the
        // forwarder tests count this process's pipes.
        using var stdoutReader = process.StandardOutput;
        using var stderrReader = process.StandardError;

        // Both pipes are drained concurrently so a chatty command cannot block on a full pipe.
        var output = stdoutReader.ReadToEndAsync();
        var error = stderrReader.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(CommandTimeout);
            }
            catch (InvalidOperationException)
            {
                // It ended between the timeout and the kill.
            }

            throw new InvalidOperationException(
                $"timed out after {CommandTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: {command}");
        }

        process.WaitForExit();
        var stdout = output.GetAwaiter().GetResult();
        var stderr = error.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{command}` exited with {process.ExitCode}: {stderr.Trim()}");
        }

        return stdout;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>
/// Connects to IP:port about every <paramref name="interval"/> on its own thread until a connect succeeds: when a
/// listener started accepting, for the latency benchmarks against either API server.
/// </summary>
internal sealed class AcceptPoll(IPAddress? target, int port, TimeSpan interval)
{
    private volatile IPAddress? _target = target;

    public void Retarget(IPAddress address) => _target = address;

    /// <returns>The Stopwatch timestamp of the first connect that succeeded; null when none did before <paramref name="deadline"/>.</returns>
    public Task<long?> RunAsync(long deadline) => Task.Factory.StartNew(
        () => Poll(deadline), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private long? Poll(long deadline)
    {
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_target is { } address)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Connect(address, port);
                    var at = Stopwatch.GetTimestamp();
                    socket.LingerState = new LingerOption(true, 0);
                    return at;
                }
                catch (SocketException)
                {
                }
            }

            Thread.Sleep(interval);
        }

        return null;
    }
}

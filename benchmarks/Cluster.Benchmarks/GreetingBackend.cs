using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>
/// The node port's backend: writes one byte to each connection and closes it, so that a probe through a listener
/// learns it reached the backend and ends at once.
/// </summary>
internal sealed class GreetingBackend : IDisposable
{
    public const byte Greeting = (byte)'!';
    private static readonly byte[] GreetingBytes = [Greeting];
    private readonly TcpListener _listener;
    private readonly Task _accepting;

    public GreetingBackend()
        : this(new IPEndPoint(IPAddress.Loopback, 0))
    {
    }

    /// <summary>On a given node IP and NodePort (the real API server chooses the NodePort).</summary>
    public GreetingBackend(IPEndPoint endpoint)
    {
        _listener = new TcpListener(endpoint);
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                using var client = await _listener.AcceptSocketAsync().ConfigureAwait(false);
                try
                {
                    await client.SendAsync(GreetingBytes).ConfigureAwait(false);
                    client.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                    // The daemon's health check or a probe that gave up: nothing to answer.
                }
            }
        }
        catch (Exception failure) when (failure is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _accepting.Wait(TimeSpan.FromSeconds(5));
    }
}

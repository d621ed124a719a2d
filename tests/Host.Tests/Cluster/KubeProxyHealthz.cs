using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// What a node's kube-proxy serves on a Local Service's healthCheckNodePort: 200 with the count of local endpoints
/// while there are some, 503 while there are none. One answer per connection, as kube-proxy's server closes idle ones.
/// </summary>
internal sealed class KubeProxyHealthz : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile int _localEndpoints;

    public KubeProxyHealthz(IPAddress address, int port, int localEndpoints)
    {
        _localEndpoints = localEndpoints;
        _listener = new TcpListener(address, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>0 makes it answer 503.</summary>
    public int LocalEndpoints
    {
        get => _localEndpoints;
        set => _localEndpoints = value;
    }

    /// <summary>The request line of every request, in order.</summary>
    public ConcurrentQueue<string> RequestLines { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                _ = AnswerAsync(client);
            }
        }
        catch (Exception failure) when (failure is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AnswerAsync(Socket client)
    {
        using (client)
        {
            try
            {
                var buffer = new byte[4096];
                var received = 0;
                while (received < buffer.Length && buffer.AsSpan(0, received).IndexOf("\r\n\r\n"u8) < 0)
                {
                    var read = await client.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    received += read;
                }

                var request = Encoding.ASCII.GetString(buffer, 0, received);
                RequestLines.Enqueue(request[..Math.Max(0, request.IndexOf("\r\n", StringComparison.Ordinal))]);
                var endpoints = _localEndpoints;
                var body = $"{{\"service\":{{\"namespace\":\"default\",\"name\":\"web\"}},\"localEndpoints\":{endpoints},\"serviceProxyHealthy\":true}}";
                var status = endpoints > 0 ? "200 OK" : "503 Service Unavailable";
                var response = $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
                await client.SendAsync(Encoding.ASCII.GetBytes(response), SocketFlags.None, _stop.Token);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception failure) when (failure is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}

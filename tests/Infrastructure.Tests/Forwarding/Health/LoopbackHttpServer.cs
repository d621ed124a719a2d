using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Health;

/// <summary>A tiny HTTP/1.1 server on 127.0.0.1 that answers every request with one status and remembers the requests.</summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private volatile string _statusLine;

    public LoopbackHttpServer(string statusLine)
    {
        _statusLine = statusLine;
        _listener.Start();
        _accepting = AcceptAsync(_stopping.Token);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public ConcurrentQueue<string> Requests { get; } = new();

    public string StatusLine
    {
        get => _statusLine;
        set => _statusLine = value;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(stopping);
            _ = AnswerAsync(client, stopping);
        }
    }

    private async Task AnswerAsync(Socket client, CancellationToken stopping)
    {
        using (client)
        {
            try
            {
                var buffer = new byte[4096];
                var received = 0;
                while (received < buffer.Length && buffer.AsSpan(0, received).IndexOf("\r\n\r\n"u8) < 0)
                {
                    var read = await client.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, stopping);
                    if (read == 0)
                    {
                        return;
                    }

                    received += read;
                }

                Requests.Enqueue(Encoding.ASCII.GetString(buffer, 0, received));
                var response = Encoding.ASCII.GetBytes($"{_statusLine}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                await client.SendAsync(response, SocketFlags.None, stopping);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}

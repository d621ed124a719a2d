using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// A line echo server that prefixes every answer with its name, so a test can tell which backend a connection reached
/// and keep the connection open across changes.
/// </summary>
internal sealed class EchoBackend : IAsyncDisposable, IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accepting;

    public EchoBackend(string name, IPAddress address, int port)
    {
        Name = name;
        _listener = new TcpListener(address, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public string Name { get; }

    public int Port { get; }

    /// <summary>Two echo backends on different loopback addresses and one port, as the pods of one EndpointSlice port.</summary>
    public static (EchoBackend First, EchoBackend Second) Pair(string firstIp, string secondIp)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var first = new EchoBackend("A", IPAddress.Parse(firstIp), 0);
            try
            {
                return (first, new EchoBackend("B", IPAddress.Parse(secondIp), first.Port));
            }
            catch (SocketException)
            {
                first.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        throw new InvalidOperationException("no port free on both loopback addresses after 20 tries");
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_clients)
                {
                    _clients.Add(client);
                }

                _ = EchoAsync(client);
            }
        }
        catch (Exception failure) when (failure is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task EchoAsync(TcpClient client)
    {
        try
        {
            using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
            var writer = client.GetStream();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                await writer.WriteAsync(Encoding.ASCII.GetBytes($"{Name}:{line}\n"), _stop.Token);
            }
        }
        catch (Exception failure) when (failure is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        await _accepting;
        _stop.Dispose();
    }
}

/// <summary>One open connection through the load balancer, used line by line.</summary>
internal sealed class EchoConnection : IDisposable
{
    private readonly TcpClient _client = new();
    private StreamReader? _reader;

    public static async Task<EchoConnection?> OpenAsync(string ip, int port)
    {
        var connection = new EchoConnection();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await connection._client.ConnectAsync(IPAddress.Parse(ip), port, timeout.Token);
            connection._reader = new StreamReader(connection._client.GetStream(), Encoding.ASCII);
            return connection;
        }
        catch (Exception failure) when (failure is SocketException or OperationCanceledException)
        {
            connection.Dispose();
            return null;
        }
    }

    /// <summary>Sends a line and returns the answer ("A:line"), or null when the connection is gone.</summary>
    public async Task<string?> AskAsync(string line)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), timeout.Token);
            return await _reader!.ReadLineAsync(timeout.Token);
        }
        catch (Exception failure) when (failure is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>Which backend a new connection reaches ("A", "B"), or null when none does.</summary>
    public static async Task<string?> WhoAnswersAsync(string ip, int port)
    {
        using var connection = await OpenAsync(ip, port);
        return connection is null ? null : (await connection.AskAsync("who"))?.Split(':')[0];
    }

    public void Dispose()
    {
        _reader?.Dispose();
        _client.Dispose();
    }
}

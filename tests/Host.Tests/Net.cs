using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Host.Tests;

/// <summary>Loopback helpers for the end-to-end tests: free ports, one HTTP request per connection, bounded waits.</summary>
internal static class Net
{
    /// <summary>A port that was free a moment ago on <paramref name="ip"/> (the kernel chose it).</summary>
    public static int FreePort(string ip)
    {
        using var probe = new TcpListener(IPAddress.Parse(ip), 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>GET / on a new connection (so that every request is balanced anew); the body, or null when refused.</summary>
    public static async Task<string?> GetAsync(string ip, int port)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Parse(ip), port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n"), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var response = await reader.ReadToEndAsync(timeout.Token);
            var body = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return body < 0 ? response : response[(body + 4)..].Trim();
        }
        catch (Exception failure) when (failure is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="limit"/> passes.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return await condition();
    }

    public static Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan limit) =>
        EventuallyAsync(() => Task.FromResult(condition()), limit);
}

/// <summary>A writer tests can read while the app writes to it from other threads.</summary>
internal sealed class SharedWriter : StringWriter
{
    private readonly Lock _gate = new();

    public override void Write(char value)
    {
        lock (_gate)
        {
            base.Write(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_gate)
        {
            base.Write(value);
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_gate)
        {
            base.WriteLine(value);
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            return base.ToString();
        }
    }
}

using LoadBalancer.Host.Tests;
using LoadBalancer.Host.Tests.Cluster;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>Connections through a LoadBalancer IP to <see cref="NodePortBackends"/>, one per question.</summary>
internal static class Traffic
{
    /// <summary>"NAME:who" from the backend a new connection reaches; null when it is refused or closed at once.</summary>
    public static async Task<string?> AskAsync(string ip, int port)
    {
        using var connection = await EchoConnection.OpenAsync(ip, port);
        return connection is null ? null : await connection.AskAsync("who");
    }

    /// <summary>Waits (bounded) until a new connection gets <paramref name="answer"/> (null: is refused or closed).</summary>
    public static Task<bool> AnswersEventuallyAsync(string ip, int port, string? answer, TimeSpan limit) =>
        Net.EventuallyAsync(async () => await AskAsync(ip, port) == answer, limit);
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderResourceTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task MixedConnectionsThenDispose_LeaveNoFileDescriptorOpen(ForwardingEngine engine)
    {
        await FileDescriptors.WarmUpSocketsAsync();
        var before = await FileDescriptors.SettledCountAsync();
        var kindsBefore = FileDescriptors.CountByKind();
        output.WriteLine($"{engine}: before: {before} sockets, pipes and anonymous inodes ({FileDescriptors.Describe(kindsBefore)})");

        await using (var echo = LoopbackServer.StartEcho())
        await using (var resetting = LoopbackServer.StartResettingAfterFirstRead())
        await using (var forwarder = TestForwarders.Create(engine, output))
        {
            using var refusing = new RefusingPort();
            var live = await forwarder.ListenAsync(echo.Endpoint);
            var dead = await forwarder.ListenAsync(refusing.Endpoint);
            var resets = await forwarder.ListenAsync(resetting.Endpoint);
            using var running = new SemaphoreSlim(20);
            var outcomes = await Bounded.WithinAsync(
                Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
                {
                    await running.WaitAsync();
                    try
                    {
                        return await RunOneAsync(i, live, dead, resets);
                    }
                    finally
                    {
                        running.Release();
                    }
                })),
                TimeSpan.FromSeconds(30),
                "100 mixed connections");
            output.WriteLine($"{engine}: outcomes: {string.Join(", ", outcomes.GroupBy(o => o).Select(g => $"{g.Key}={g.Count()}"))}");
            Assert.Empty(echo.Faults);
            Assert.Empty(resetting.Faults);
        }

        var kindsAfter = new Dictionary<string, int>();
        await Bounded.UntilAsync(
            () =>
            {
                kindsAfter = new Dictionary<string, int>(FileDescriptors.CountByKind());
                return kindsAfter.All(kind => kind.Value <= kindsBefore.GetValueOrDefault(kind.Key));
            },
            TimeSpan.FromSeconds(5),
            $"the process is back to its {before} sockets, pipes and anonymous inodes",
            () => $"{kindsAfter.Values.Sum()} ({FileDescriptors.Describe(kindsAfter)}); before ({FileDescriptors.Describe(kindsBefore)})");
        output.WriteLine($"{engine}: after: {FileDescriptors.CountForwarderKinds()} ({FileDescriptors.Describe(kindsAfter)})");
    }

    /// <summary>One connection of the mix; i picks the kind: clean echoes, client resets, refused backends, backend resets.</summary>
    private static async Task<string> RunOneAsync(int i, PortBinding live, PortBinding dead, PortBinding resets)
    {
        switch (i % 10)
        {
            case < 5:
                using (var client = await TestSockets.ConnectAsync(live))
                {
                    await client.EchoAsync(Encoding.ASCII.GetBytes($"clean {i}"));
                    client.Shutdown(SocketShutdown.Send);
                    var closed = await client.WaitForCloseAsync(TestSockets.ShortWait, $"clean connection {i}");
                    return $"clean:{closed.Kind}";
                }

            case 5:
                {
                    using var client = await TestSockets.ConnectAsync(live);
                    await client.EchoAsync(Encoding.ASCII.GetBytes($"client reset {i}"));
                    client.Abort();
                    return "client-reset";
                }

            case < 8:
                {
                    var closed = await TestSockets.ConnectAndWaitForCloseAsync(dead, TestSockets.ShortWait, $"connection {i} to refusing backends");
                    return $"refused:{closed.Kind}";
                }

            default:
                using (var client = await TestSockets.ConnectAsync(resets))
                {
                    await Bounded.WithinAsync(ct => client.SendAllAsync("hello"u8.ToArray(), ct), TestSockets.ShortWait, "hello");
                    var closed = await client.WaitForCloseAsync(TestSockets.ShortWait, $"connection {i} to a resetting backend");
                    return $"backend-reset:{closed.Kind}";
                }
        }
    }
}

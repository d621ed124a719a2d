using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Udp;

[Collection(TcpForwarderCollection.Name)]
public sealed class UdpForwarderTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task ManyClientPorts_EachGetsItsAnswer_FromTheServiceAddress_SpreadOverTheBackends()
    {
        const int clients = 500;
        await using var first = UdpBackend.Named(120);
        await using var second = UdpBackend.Named(121);
        await using var forwarder = UdpTests.Create(output);
        var binding = await forwarder.ListenUdpAsync(first.Endpoint, second.Endpoint);

        var sockets = Enumerable.Range(0, clients).Select(_ => UdpTests.Client()).ToArray();
        try
        {
            var answers = await Bounded.WithinAsync(
                Task.WhenAll(sockets.Select((socket, i) => socket.AskAsync(binding, $"query {i}", Answer))),
                TimeSpan.FromSeconds(30),
                $"{clients} answers");

            var unanswered = answers.Count(answer => answer is null);
            Assert.Equal(0, unanswered);
            for (var i = 0; i < clients; i++)
            {
                Assert.True(
                    answers[i] == $"hello from {first.EndPoint}: query {i}" || answers[i] == $"hello from {second.EndPoint}: query {i}",
                    $"client {i} got {answers[i]}");
            }

            var fromFirst = answers.Count(answer => answer!.StartsWith($"hello from {first.EndPoint}:", StringComparison.Ordinal));
            output.WriteLine($"{fromFirst} answers from {first.EndPoint}, {clients - fromFirst} from {second.EndPoint}");
            Assert.Equal(clients / 2, fromFirst);

            await forwarder.WaitForStatisticsAsync(binding, s => s.Listener.DatagramsFromBackend == clients, "every answer counted");
            var statistics = forwarder.Statistics(binding).Listener;
            output.WriteLine(statistics.ToString());
            Assert.Equal(clients, statistics.ConnectionsOpened);
            Assert.Equal(clients, statistics.ConnectionsActive);
            Assert.Equal(clients, statistics.DatagramsFromClient);
            Assert.Equal(0, statistics.DatagramsDropped);
            Assert.Equal(answers.Sum(answer => (long)answer!.Length), statistics.BytesFromBackend);
            var backends = forwarder.Statistics(binding).Backends;
            Assert.Equal([clients / 2, clients / 2], backends.Select(backend => backend.Traffic.DatagramsFromBackend));
            Assert.Equal([clients / 2, clients / 2], backends.Select(backend => backend.Traffic.ConnectionsActive));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task OneClient_KeepsItsFlow_AndItsBackend()
    {
        await using var first = UdpBackend.Named(120);
        await using var second = UdpBackend.Named(121);
        await using var forwarder = UdpTests.Create(output);
        var binding = await forwarder.ListenUdpAsync(first.Endpoint, second.Endpoint);
        using var client = UdpTests.Client();

        var answers = new List<string?>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await client.AskAsync(binding, $"q{i}", Answer));
        }

        Assert.Single(answers.Select(answer => answer![..answer!.IndexOf(':', 20)]).Distinct());
        Assert.Equal(1, forwarder.Statistics(binding).Listener.ConnectionsOpened);
    }

    [Fact]
    public async Task Flows_ExpireAfterTheIdleTimeout_OnTheInjectedClock()
    {
        var time = new FakeTimeProvider();
        await using var backend = UdpBackend.Named(122);
        await using var forwarder = UdpTests.Create(output, time: time);
        var binding = UdpTests.NextBinding();
        await forwarder.ApplySucceedsAsync(UdpTests.Spec(binding, [backend.Endpoint]));
        using var client = UdpTests.Client();

        Assert.NotNull(await client.AskAsync(binding, "one", Answer));
        Assert.Equal(1, forwarder.Statistics(binding).Listener.ConnectionsActive);

        time.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(200);
        Assert.Equal(1, forwarder.Statistics(binding).Listener.ConnectionsActive);

        time.Advance(TimeSpan.FromSeconds(1));
        await forwarder.WaitForStatisticsAsync(binding, s => s.Listener.ConnectionsActive == 0, "the flow closed after 30s idle");

        Assert.NotNull(await client.AskAsync(binding, "two", Answer));
        Assert.Equal(2, forwarder.Statistics(binding).Listener.ConnectionsOpened);
    }

    [Fact]
    public async Task IdleTimeout_OfTheSpec_ReplacesTheDefault()
    {
        var time = new FakeTimeProvider();
        await using var backend = UdpBackend.Named(122);
        await using var forwarder = UdpTests.Create(output, time: time);
        var binding = UdpTests.NextBinding();
        await forwarder.ApplySucceedsAsync(UdpTests.Spec(binding, [backend.Endpoint]) with { UdpFlowIdleTimeout = TimeSpan.FromSeconds(5) });
        using var client = UdpTests.Client();

        Assert.NotNull(await client.AskAsync(binding, "one", Answer));
        time.Advance(TimeSpan.FromSeconds(4));
        await Task.Delay(200);
        Assert.Equal(1, forwarder.Statistics(binding).Listener.ConnectionsActive);

        time.Advance(TimeSpan.FromSeconds(1));
        await forwarder.WaitForStatisticsAsync(binding, s => s.Listener.ConnectionsActive == 0, "the flow closed after 5s idle");
    }

    [Fact]
    public async Task FlowLimit_DropsAndCountsTheDatagramsOfNewClients()
    {
        await using var backend = UdpBackend.Named(123);
        await using var forwarder = UdpTests.Create(output, options => options with { MaxUdpFlowsPerListener = 10 });
        var binding = await forwarder.ListenUdpAsync(backend.Endpoint);
        var sockets = Enumerable.Range(0, 15).Select(_ => UdpTests.Client()).ToArray();
        try
        {
            var answers = new List<string?>();
            foreach (var (socket, i) in sockets.Select((socket, i) => (socket, i)))
            {
                answers.Add(await socket.AskAsync(binding, $"q{i}", i < 10 ? Answer : TimeSpan.FromMilliseconds(300)));
            }

            Assert.All(answers.Take(10), answer => Assert.NotNull(answer));
            Assert.All(answers.Skip(10), answer => Assert.Null(answer));
            var statistics = forwarder.Statistics(binding).Listener;
            Assert.Equal(10, statistics.ConnectionsActive);
            Assert.Equal(5, statistics.ConnectionsRejected);
            Assert.Equal(5, statistics.DatagramsDropped);

            // A client that has a flow is still served at the limit.
            Assert.NotNull(await sockets[0].AskAsync(binding, "again", Answer));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task PortUnreachable_FromABackend_EjectsIt_AndNewFlowsGoElsewhere()
    {
        await using var live = UdpBackend.Named(124);
        var dead = UdpTests.ClosedPort(125);
        await using var forwarder = UdpTests.Create(output);
        var binding = await forwarder.ListenUdpAsync(dead, live.Endpoint);

        // Until the dead backend is ejected, a client whose flow went there hears nothing and asks again.
        for (var i = 0; i < 10; i++)
        {
            using var client = UdpTests.Client();
            string? answer = null;
            for (var attempt = 0; attempt < 5 && answer is null; attempt++)
            {
                answer = await client.AskAsync(binding, $"q{i}", TimeSpan.FromMilliseconds(300));
            }

            Assert.NotNull(answer);
        }

        var before = forwarder.Statistics(binding);
        output.WriteLine(TestForwarders.Describe(before));
        var deadStatistics = before.Backends.Single(backend => backend.Endpoint == dead);
        Assert.Equal(BackendHealthState.Ejected, deadStatistics.Health);
        Assert.True(deadStatistics.Traffic.ConnectionsFailed >= 3, $"refusals counted: {deadStatistics.Traffic.ConnectionsFailed}");

        for (var i = 0; i < 20; i++)
        {
            using var client = UdpTests.Client();
            Assert.Equal($"hello from {live.EndPoint}: after {i}", await client.AskAsync(binding, $"after {i}", Answer));
        }

        Assert.Equal(deadStatistics.Traffic.ConnectionsOpened, forwarder.Statistics(binding).Of(dead).ConnectionsOpened);
    }

    [Fact]
    public async Task BackendSwap_UnderLoad_SendsNewAndMovedFlowsToTheNewBackends()
    {
        await using var old = UdpBackend.Named(120);
        await using var fresh = UdpBackend.Named(121);
        await using var forwarder = UdpTests.Create(output);
        var binding = UdpTests.NextBinding();
        await forwarder.ApplySucceedsAsync(UdpTests.Spec(binding, [old.Endpoint]));

        using var stop = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<(DateTime At, string Answer)>();
        var load = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            using var client = UdpTests.Client();
            for (var n = 0; !stop.IsCancellationRequested && n < 100_000; n++)
            {
                if (await client.AskAsync(binding, $"c{i} n{n}", TimeSpan.FromMilliseconds(500)) is { } answer)
                {
                    seen.Enqueue((DateTime.UtcNow, answer));
                }
            }
        })).ToArray();

        await Bounded.UntilAsync(() => seen.Count > 200, TimeSpan.FromSeconds(10), "answers from the old backend");
        Assert.All(seen, entry => Assert.StartsWith($"hello from {old.EndPoint}:", entry.Answer, StringComparison.Ordinal));

        await forwarder.ApplySucceedsAsync(UdpTests.Spec(binding, [fresh.Endpoint]));
        var applied = DateTime.UtcNow;

        // New clients at once, the running ones once the loop has seen the new route (it looks at least every 250 ms).
        using (var newcomer = UdpTests.Client())
        {
            Assert.Equal($"hello from {fresh.EndPoint}: new", await newcomer.AskAsync(binding, "new", Answer));
        }

        await Bounded.UntilAsync(
            () => seen.Count(entry => entry.At > applied + TimeSpan.FromSeconds(1)) > 500, TimeSpan.FromSeconds(15), "answers a second after the swap");
        await stop.CancelAsync();
        await Bounded.WithinAsync(Task.WhenAll(load), TimeSpan.FromSeconds(10), "the load to stop");

        var late = seen.Where(entry => entry.At > applied + TimeSpan.FromSeconds(1)).ToList();
        output.WriteLine($"{seen.Count} answers, {late.Count} more than 1 s after the swap");
        Assert.NotEmpty(late);
        Assert.All(late, entry => Assert.StartsWith($"hello from {fresh.EndPoint}:", entry.Answer, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_ClosesEveryFlowSocket_AndLeavesNoDescriptorOpen()
    {
        await using var backend = UdpBackend.Named(123);
        var kindsBefore = FileDescriptors.CountByKind();
        var sockets = Enumerable.Range(0, 200).Select(_ => UdpTests.Client()).ToArray();
        try
        {
            await using (var forwarder = UdpTests.Create(output))
            {
                var binding = await forwarder.ListenUdpAsync(backend.Endpoint);
                var answers = await Task.WhenAll(sockets.Select((socket, i) => socket.AskAsync(binding, $"q{i}", Answer)));
                Assert.All(answers, answer => Assert.NotNull(answer));
                var during = FileDescriptors.CountByKind();
                output.WriteLine($"before: {FileDescriptors.Describe(kindsBefore)}; with 200 flows: {FileDescriptors.Describe(during)}");
                Assert.True(during.GetValueOrDefault("socket") >= kindsBefore.GetValueOrDefault("socket") + 400, "200 client sockets and 200 flow sockets");

                await Bounded.WithinAsync(forwarder.StopAsync(binding, TimeSpan.FromSeconds(5), CancellationToken.None), TimeSpan.FromSeconds(5), "the stop");
                Assert.Null(forwarder.GetStatistics(binding));
            }
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        var kindsAfter = new Dictionary<string, int>();
        await Bounded.UntilAsync(
            () =>
            {
                kindsAfter = new Dictionary<string, int>(FileDescriptors.CountByKind());
                return kindsAfter.All(kind => kind.Value <= kindsBefore.GetValueOrDefault(kind.Key));
            },
            TimeSpan.FromSeconds(5),
            "the process is back to its sockets and anonymous inodes",
            () => $"{FileDescriptors.Describe(kindsAfter)}; before {FileDescriptors.Describe(kindsBefore)}");
    }

    [Fact]
    public async Task NoBackends_DropsAndCountsTheDatagram()
    {
        await using var forwarder = UdpTests.Create(output);
        var binding = await forwarder.ListenUdpAsync();
        using var client = UdpTests.Client();

        Assert.Null(await client.AskAsync(binding, "anyone?", TimeSpan.FromMilliseconds(300)));
        await forwarder.WaitForStatisticsAsync(binding, s => s.Listener.ConnectionsFailed == 1, "the datagram counted as not forwarded");
        Assert.Equal(0, forwarder.Statistics(binding).Listener.ConnectionsActive);
    }

    [Fact]
    public async Task UdpAndTcp_OnTheSamePort_AreTwoListeners()
    {
        await using var backend = UdpBackend.Named(122);
        await using var forwarder = UdpTests.Create(output);
        var udp = UdpTests.NextBinding();
        var tcp = udp with { Port = LoadBalancer.Domain.Services.ServicePort.Tcp(udp.Port.Port) };
        await forwarder.ApplySucceedsAsync(UdpTests.Spec(udp, [backend.Endpoint]));
        await forwarder.ApplySucceedsAsync(UdpTests.Spec(tcp, [backend.Endpoint]));

        Assert.Equal(2, forwarder.GetAllStatistics().Count);
        using var client = UdpTests.Client();
        Assert.NotNull(await client.AskAsync(udp, "dns", Answer));
        await forwarder.StopAsync(udp, TimeSpan.Zero, CancellationToken.None);
        Assert.NotNull(forwarder.GetStatistics(tcp));
    }
}

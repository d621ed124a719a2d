using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Udp;

[Collection(TcpForwarderCollection.Name)]
public sealed class UdpForwarderIntegrityTests(ITestOutputHelper output)
{
    private const int MaxSize = 1472;

    [Fact]
    public async Task HundredThousandDatagrams_OfSizes1To1472_ComeBackUnaltered_WithLossCountedAndSmall()
    {
        const int total = 100_000;

        // Outstanding datagrams: few enough that a burst of the largest fits in the default socket buffers (rmem ~208 KiB).
        const int window = 96;
        await using var backend = UdpBackend.Echo(120);
        await using var forwarder = UdpTests.Create(output);
        var binding = await forwarder.ListenUdpAsync(backend.Endpoint);
        using var client = UdpTests.Client();
        client.ReceiveBufferSize = 4 << 20;
        await client.ConnectAsync(new IPEndPoint(binding.Ip, binding.Port.Port));

        var outstanding = new ConcurrentDictionary<int, long>();
        using var permits = new SemaphoreSlim(window, window);
        long altered = 0;
        long received = 0;
        long lost = 0;
        long late = 0;
        var givenUp = new ConcurrentDictionary<int, bool>();
        var watch = Stopwatch.StartNew();

        await Bounded.WithinAsync(
            async deadline =>
            {
                var sending = Task.Run(
                    async () =>
                    {
                        var datagram = new byte[MaxSize];
                        for (var seq = 0; seq < total; seq++)
                        {
                            await permits.WaitAsync(deadline);
                            var size = SizeOf(seq);
                            Fill(seq, datagram.AsSpan(0, size));
                            outstanding[seq] = Stopwatch.GetTimestamp();
                            await client.SendAsync(datagram.AsMemory(0, size), SocketFlags.None, deadline);
                        }
                    },
                    deadline);

                var buffer = new byte[65536];
                var expected = new byte[MaxSize];
                while (received + lost < total)
                {
                    deadline.ThrowIfCancellationRequested();
                    int length;
                    using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(deadline))
                    {
                        quiet.CancelAfter(TimeSpan.FromMilliseconds(200));
                        try
                        {
                            length = await client.ReceiveAsync(buffer, SocketFlags.None, quiet.Token);
                        }
                        catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                        {
                            // Nothing for a while: what has been out for two seconds is counted lost and its permit comes
                            // back (were it to arrive later, it is counted late instead).
                            foreach (var (seq, sentAt) in outstanding)
                            {
                                if (Stopwatch.GetElapsedTime(sentAt) > TimeSpan.FromSeconds(2) && outstanding.TryRemove(seq, out _))
                                {
                                    lost++;
                                    givenUp[seq] = true;
                                    permits.Release();
                                }
                            }

                            continue;
                        }
                    }

                    var match = Identify(buffer.AsSpan(0, length), [.. outstanding.Keys, .. givenUp.Keys], expected);
                    if (match is { } found && outstanding.TryRemove(found, out _))
                    {
                        received++;
                    }
                    else if (match is { } arrivedLate && givenUp.TryRemove(arrivedLate, out _))
                    {
                        received++;
                        lost--;
                        late++;
                        continue;
                    }
                    else
                    {
                        altered++;
                        continue;
                    }

                    permits.Release();
                }

                await sending;
            },
            TimeSpan.FromSeconds(180),
            $"{total} datagrams through and back");

        watch.Stop();
        var statistics = forwarder.Statistics(binding).Listener;
        output.WriteLine(
            $"{total} datagrams of 1–{MaxSize} bytes, window {window}: {received} back unaltered, {lost} lost ({100.0 * lost / total:F3}%), " +
            $"{late} late (over 2 s), {altered} altered or duplicated, in {watch.Elapsed.TotalSeconds:F1} s ({2 * received / watch.Elapsed.TotalSeconds:F0} forwarded datagrams/s both ways)");
        output.WriteLine($"listener: {statistics}");
        Assert.Equal(0, altered);
        Assert.True(lost <= total / 1000, $"{lost} of {total} datagrams lost on loopback");
        Assert.Equal(statistics.DatagramsFromClient, backend.Received);
        Assert.True(statistics.DatagramsFromBackend >= received, $"counted from backend {statistics.DatagramsFromBackend}, received {received}");
        Assert.Equal(1, statistics.ConnectionsOpened);
    }

    private static int SizeOf(int seq) => 1 + (seq % MaxSize);

    /// <summary>The sequence number (when there is room for it) and then bytes that depend on it and on the position.</summary>
    private static void Fill(int seq, Span<byte> datagram)
    {
        var start = 0;
        if (datagram.Length >= 4)
        {
            BinaryPrimitives.WriteInt32LittleEndian(datagram, seq);
            start = 4;
        }

        var state = (uint)seq * 2654435761u;
        for (var i = start; i < datagram.Length; i++)
        {
            state = (state * 1103515245u) + 12345u;
            datagram[i] = (byte)(state >> 16);
        }
    }

    /// <summary>The outstanding datagram this one is, byte for byte; null when none (altered, or never sent).</summary>
    private static int? Identify(ReadOnlySpan<byte> datagram, ICollection<int> outstanding, byte[] expected)
    {
        if (datagram.Length >= 4)
        {
            var seq = BinaryPrimitives.ReadInt32LittleEndian(datagram);
            if (seq < 0 || SizeOf(seq) != datagram.Length)
            {
                return null;
            }

            Fill(seq, expected.AsSpan(0, datagram.Length));
            return datagram.SequenceEqual(expected.AsSpan(0, datagram.Length)) ? seq : null;
        }

        // Datagrams of 1–3 bytes carry no number: one of the outstanding ones of that size with these bytes.
        foreach (var seq in outstanding)
        {
            if (SizeOf(seq) == datagram.Length)
            {
                Fill(seq, expected.AsSpan(0, datagram.Length));
                if (datagram.SequenceEqual(expected.AsSpan(0, datagram.Length)))
                {
                    return seq;
                }
            }
        }

        return null;
    }
}

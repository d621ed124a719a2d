namespace LoadBalancer.Host.Tests.Forward;

/// <summary>Real sockets on 127.0.0.x: the demo backends behind <c>loadbalancer forward</c>.</summary>
public sealed class ForwardModeTests
{
    [Theory]
    [InlineData("splice")]
    [InlineData("copy")]
    public async Task Forward_TwoBackends_RoundRobinsNewConnectionsAndExitsZeroOnCancel(string engine)
    {
        var (one, two) = (Net.FreePort("127.0.0.71"), Net.FreePort("127.0.0.72"));
        var listen = Net.FreePort("127.0.0.70");
        using var output = new SharedWriter();
        using var error = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var backends = Support.InProcess.RunAsync(["demo-backend", "--listen", $"127.0.0.71:{one}", "--listen", $"127.0.0.72:{two}"], TextWriter.Null, TextWriter.Null, stop.Token);
        var forward = Support.InProcess.RunAsync(
            ["forward", "--listen", $"127.0.0.70:{listen}", "--backend", $"127.0.0.71:{one}", "--backend", $"127.0.0.72:{two}", "--engine", engine, "--no-health-check"],
            output, error, stop.Token);
        try
        {
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains("forwarding", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), error.ToString());
            Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync("127.0.0.71", one) is not null, TimeSpan.FromSeconds(5)));

            var answers = new List<string?>();
            for (var i = 0; i < 4; i++)
            {
                answers.Add(await Net.GetAsync("127.0.0.70", listen));
            }

            Assert.Equal(
                [$"hello from 127.0.0.71:{one}", $"hello from 127.0.0.72:{two}"],
                answers.Distinct().Order(StringComparer.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await forward.WaitAsync(TimeSpan.FromSeconds(20)));
            await backends.WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Null(await Net.GetAsync("127.0.0.70", listen));
    }
}

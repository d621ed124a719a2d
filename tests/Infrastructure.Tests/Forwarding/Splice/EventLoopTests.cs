using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Splice;

[Collection(TcpForwarderCollection.Name)]
public sealed class EventLoopTests
{
    [Fact]
    public async Task PostAsync_RunsTheCommandOnTheLoopThread()
    {
        using var loop = new EventLoop(0, new ForwarderOptions(), new ForwarderClock(TimeProvider.System), NullLogger.Instance);
        loop.Start();
        string? threadName = null;

        await loop.PostAsync(_ => threadName = Thread.CurrentThread.Name).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal("splice-loop-0", threadName);
    }

    [Fact]
    public async Task PostAsync_AfterTheLoopStopped_CompletesInsteadOfWaitingForever()
    {
        var before = FileDescriptors.CountForwarderKinds();
        var loop = new EventLoop(0, new ForwarderOptions(), new ForwarderClock(TimeProvider.System), NullLogger.Instance);
        loop.Start();
        loop.RequestStop();
        await loop.Stopped.WaitAsync(TimeSpan.FromSeconds(5));

        var ran = false;
        await loop.PostAsync(_ => ran = true).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(ran);
        loop.Dispose();
        Assert.Equal(before, FileDescriptors.CountForwarderKinds());
    }
}

using LoadBalancer.Infrastructure.Forwarding.Loops;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Loops;

[Collection(TcpForwarderCollection.Name)]
public sealed class LoopMailboxTests
{
    private sealed class Loop
    {
        public List<string> Ran { get; } = [];
    }

    [Fact]
    public void Post_WhileOpen_WaitsForTheLoopAndWakesIt()
    {
        var loop = new Loop();
        var mailbox = new LoopMailbox<Loop>(loop);
        try
        {
            mailbox.Post(l => l.Ran.Add("first"));
            mailbox.Post(l => l.Ran.Add("second"));

            Assert.Empty(loop.Ran);
            Assert.Equal(2UL, ReadWakeCounter(mailbox.WakeFd));
            mailbox.RunPending();
            Assert.Equal(["first", "second"], loop.Ran);
        }
        finally
        {
            mailbox.Close();
        }
    }

    [Fact]
    public async Task PostAsync_CommandThrows_TheTaskFailsWithIt()
    {
        var mailbox = new LoopMailbox<Loop>(new Loop());
        try
        {
            var posted = mailbox.PostAsync(_ => throw new InvalidOperationException("from the loop"));
            Assert.False(posted.IsCompleted);

            mailbox.RunPending();

            var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => posted);
            Assert.Equal("from the loop", exception.Message);
        }
        finally
        {
            mailbox.Close();
        }
    }

    [Fact]
    public async Task Post_AfterClose_RunsOnTheCallersThread()
    {
        var loop = new Loop();
        var mailbox = new LoopMailbox<Loop>(loop);
        mailbox.Close();

        mailbox.Post(l => l.Ran.Add("after close"));
        await mailbox.PostAsync(l => l.Ran.Add("awaited after close"));

        Assert.True(mailbox.IsClosed);
        Assert.Equal(["after close", "awaited after close"], loop.Ran);
    }

    [Fact]
    public void Close_ClosesTheEventfd()
    {
        var before = FileDescriptors.CountByKind().GetValueOrDefault("anon_inode:[eventfd]");
        var mailbox = new LoopMailbox<Loop>(new Loop());
        Assert.Equal(before + 1, FileDescriptors.CountByKind().GetValueOrDefault("anon_inode:[eventfd]"));

        mailbox.Close();
        mailbox.Close();

        Assert.Equal(before, FileDescriptors.CountByKind().GetValueOrDefault("anon_inode:[eventfd]"));
    }

    private static unsafe ulong ReadWakeCounter(int fd)
    {
        ulong value = 0;
        var read = LoadBalancer.Infrastructure.Forwarding.Splice.Native.read(fd, &value, sizeof(ulong));
        Assert.Equal(sizeof(ulong), (int)read);
        return value;
    }
}

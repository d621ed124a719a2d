using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Splice;

[Collection(TcpForwarderCollection.Name)]
public sealed class PipePoolTests
{
    private static int OpenFds() => Directory.GetFiles("/proc/self/fd").Length;

    [Fact]
    public void Rent_WithRequestedMegabyte_GetsAPipeOfThatCapacity()
    {
        using var pool = new PipePool(1024 * 1024, maxIdle: 4);
        var pipe = pool.Rent();
        Assert.NotNull(pipe);
        Assert.Equal(1024 * 1024, pipe.Value.Capacity);
        pool.Return(pipe.Value);
    }

    [Fact]
    public void Return_ThenRent_ReusesTheSamePipe()
    {
        using var pool = new PipePool(65536, maxIdle: 4);
        var first = pool.Rent()!.Value;
        pool.Return(first);
        var second = pool.Rent()!.Value;
        Assert.Equal(first, second);
        pool.Return(second);
    }

    [Fact]
    public void Return_BeyondMaxIdle_ClosesTheExtraPipesAndDisposeClosesTheRest()
    {
        var before = OpenFds();
        var pool = new PipePool(65536, maxIdle: 2);
        var pipes = Enumerable.Range(0, 5).Select(_ => pool.Rent()!.Value).ToList();
        Assert.Equal(before + 10, OpenFds());
        pipes.ForEach(pool.Return);
        Assert.Equal(2, pool.Idle);
        Assert.Equal(before + 4, OpenFds());
        pool.Dispose();
        Assert.Equal(before, OpenFds());
    }
}

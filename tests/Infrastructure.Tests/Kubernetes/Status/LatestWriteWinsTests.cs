using LoadBalancer.Infrastructure.Kubernetes.Status;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Status;

public sealed class LatestWriteWinsTests
{
    private readonly LatestWriteWins<string> _order = new();

    [Fact]
    public async Task Enter_Alone_GoesAtOnce()
    {
        using var turn = await _order.EnterAsync("web", CancellationToken.None);

        Assert.NotNull(turn);
    }

    [Fact]
    public async Task Enter_SameKeyWhileATurnIsHeld_WaitsForIt()
    {
        var first = await _order.EnterAsync("web", CancellationToken.None);
        var second = _order.EnterAsync("web", CancellationToken.None).AsTask();

        Assert.False(second.IsCompleted);
        first!.Dispose();
        using var turn = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(turn);
    }

    [Fact]
    public async Task Enter_OvertakenWhileWaiting_GetsNoTurn_AndTheLatestGetsIt()
    {
        var first = await _order.EnterAsync("web", CancellationToken.None);
        var overtaken = _order.EnterAsync("web", CancellationToken.None).AsTask();
        var latest = _order.EnterAsync("web", CancellationToken.None).AsTask();

        first!.Dispose();

        Assert.Null(await overtaken.WaitAsync(TimeSpan.FromSeconds(10)));
        using var turn = await latest.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(turn);
    }

    [Fact]
    public async Task Enter_AnotherKey_DoesNotWait()
    {
        using var web = await _order.EnterAsync("web", CancellationToken.None);

        var api = _order.EnterAsync("api", CancellationToken.None);

        Assert.True(api.IsCompletedSuccessfully);
        using var turn = await api;
        Assert.NotNull(turn);
    }

    [Fact]
    public async Task Enter_CancelledWhileWaiting_Throws_AndTheNextStillGetsItsTurn()
    {
        var first = await _order.EnterAsync("web", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = _order.EnterAsync("web", cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        first!.Dispose();

        using var turn = await _order.EnterAsync("web", CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(turn);
    }
}

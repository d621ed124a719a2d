using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.State;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Application.Tests.State;

public sealed class RecentEventsTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Latest_IsNewestFirst_StampedWhenAdded()
    {
        var recent = new RecentEvents(_time);
        recent.Add(Event("a", "IPAllocated"));
        _time.Advance(TimeSpan.FromSeconds(3));
        recent.Add(Event("b", "ApplyFailed", ServiceEventType.Warning));

        Assert.Equal(
            [("b", ServiceEventType.Warning, "ApplyFailed", _time.GetUtcNow()), ("a", ServiceEventType.Normal, "IPAllocated", _time.GetUtcNow() - TimeSpan.FromSeconds(3))],
            recent.Latest().Select(entry => (entry.Name, entry.Type, entry.Reason, entry.At)));
    }

    [Fact]
    public void PastCapacity_TheOldestAreDropped()
    {
        var recent = new RecentEvents(_time);
        for (var i = 0; i < RecentEvents.Capacity + 7; i++)
        {
            recent.Add(Event($"s{i}", "IPAllocated"));
        }

        var latest = recent.Latest();
        Assert.Equal(RecentEvents.Capacity, latest.Count);
        Assert.Equal($"s{RecentEvents.Capacity + 6}", latest[0].Name);
        Assert.Equal("s7", latest[^1].Name);
    }

    [Fact]
    public void Empty_HasNone() => Assert.Empty(new RecentEvents(_time).Latest());

    private static ServiceEvent Event(string name, string reason, ServiceEventType type = ServiceEventType.Normal) =>
        new(new ServiceKey("default", name), type, reason, $"{reason} for {name}");
}

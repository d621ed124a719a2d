using System.Text.Json.Nodes;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>
/// Watch history and open watches. Not thread-safe by itself: <see cref="ObjectStore"/> calls it under its lock,
/// which is what keeps every watch's events in resourceVersion order with none lost or doubled between
/// replaying history and going live.
/// </summary>
internal sealed class WatchHub
{
    // Like the API server's watch cache, history is bounded; older watches get 410 Expired.
    private const int MaxHistory = 100_000;

    private readonly List<Change> _history = [];
    private readonly List<WatchSubscription> _open = [];
    private int _openCount;

    /// <summary>Watches may resume from this resourceVersion or later; older ones are told "too old".</summary>
    public long Horizon { get; private set; }

    public int OpenCount => Volatile.Read(ref _openCount);

    public void Publish(Change change)
    {
        _history.Add(change);
        if (_history.Count > MaxHistory)
        {
            var dropped = _history.Count / 10;
            Horizon = _history[dropped - 1].ResourceVersion;
            _history.RemoveRange(0, dropped);
        }

        foreach (var watch in _open)
        {
            if (Line(watch, change) is { } line)
            {
                watch.Send(line);
            }
        }
    }

    /// <summary>Opens a watch that first replays every change after <paramref name="fromVersion"/>, or null when that is too old.</summary>
    public WatchSubscription? OpenFrom(WatchSubscription watch, long fromVersion)
    {
        if (fromVersion < Horizon)
        {
            return null;
        }

        for (var i = FirstAfter(fromVersion); i < _history.Count; i++)
        {
            if (Line(watch, _history[i]) is { } line)
            {
                watch.Send(line);
            }
        }

        return Add(watch);
    }

    /// <summary>Opens a watch that starts with a synthetic ADDED for every current object, as a watch without resourceVersion does.</summary>
    public WatchSubscription OpenWithCurrentState(WatchSubscription watch, IEnumerable<StoredObject> current)
    {
        foreach (var item in current.Where(watch.Selects))
        {
            watch.Send(EventLine("ADDED", item.Json));
        }

        return Add(watch);
    }

    public void Close(WatchSubscription watch)
    {
        if (_open.Remove(watch))
        {
            Interlocked.Decrement(ref _openCount);
        }

        watch.End();
    }

    public void CloseAll()
    {
        foreach (var watch in _open.ToArray())
        {
            Close(watch);
        }
    }

    public void Compact(long currentVersion)
    {
        Horizon = currentVersion;
        _history.Clear();
    }

    public void SendBookmarks(long currentVersion)
    {
        foreach (var watch in _open.Where(watch => watch.WantsBookmarks))
        {
            watch.Send(BookmarkLine(watch.Kind, currentVersion));
        }
    }

    public static string EventLine(string type, string objectJson) => $"{{\"type\":\"{type}\",\"object\":{objectJson}}}";

    public static string BookmarkLine(ResourceKind kind, long version)
    {
        var bookmark = new JsonObject
        {
            ["kind"] = kind.Kind,
            ["apiVersion"] = kind.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        return EventLine("BOOKMARK", bookmark.ToJsonString());
    }

    public static string ExpiredLine(long requested, long horizon) =>
        EventLine("ERROR", StatusBodies.Status(410, "Expired", $"too old resource version: {requested} ({horizon})").ToJson());

    // History is in resourceVersion order, so a binary search finds where a resuming watch starts.
    private int FirstAfter(long version)
    {
        var (low, high) = (0, _history.Count);
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_history[middle].ResourceVersion <= version)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private WatchSubscription Add(WatchSubscription watch)
    {
        _open.Add(watch);
        Interlocked.Increment(ref _openCount);
        return watch;
    }

    // A selector turns a change into what that watch sees: objects entering it are ADDED, leaving it DELETED.
    private static string? Line(WatchSubscription watch, Change change)
    {
        var wasSelected = change.Previous is not null && watch.Selects(change.Previous);
        if (change.Type == ChangeType.Deleted)
        {
            return wasSelected ? EventLine("DELETED", change.Current.Json) : null;
        }

        var isSelected = watch.Selects(change.Current);
        return (wasSelected, isSelected) switch
        {
            (true, true) => EventLine("MODIFIED", change.Current.Json),
            (false, true) => EventLine("ADDED", change.Current.Json),
            (true, false) => EventLine("DELETED", change.Current.Json),
            _ => null,
        };
    }
}

internal enum ChangeType
{
    Added,
    Modified,
    Deleted,
}

/// <summary>One write. For a delete, <see cref="Current"/> is the last state stamped with the deletion's resourceVersion.</summary>
internal sealed record Change(ChangeType Type, StoredObject? Previous, StoredObject Current)
{
    public long ResourceVersion => Current.ResourceVersion;
}

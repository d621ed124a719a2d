using System.Buffers.Text;
using System.Text;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>
/// limit/continue paging. The first page keeps a snapshot, so later pages show the list exactly as it was at the
/// first page's resourceVersion, as etcd-backed paging does. A token older than the compaction horizon is 410 Expired.
/// </summary>
internal sealed class ListPager
{
    private const int MaxSnapshots = 256;

    private readonly Lock _gate = new();
    private readonly Dictionary<long, Snapshot> _snapshots = [];
    private readonly Queue<long> _order = new();
    private long _nextId;

    public Page FirstPage(string listPath, IReadOnlyList<StoredObject> items, long version, int? limit)
    {
        if (limit is not { } size || size <= 0 || items.Count <= size)
        {
            return new Page(items, version, Continue: null, Remaining: null);
        }

        long id;
        lock (_gate)
        {
            id = ++_nextId;
            _snapshots[id] = new Snapshot(listPath, items, version);
            _order.Enqueue(id);
            while (_order.Count > MaxSnapshots)
            {
                _snapshots.Remove(_order.Dequeue());
            }
        }

        return new Page(items.Take(size).ToList(), version, Token(id, size), items.Count - size);
    }

    public PageResult NextPage(string listPath, string token, int? limit, long horizon)
    {
        if (!TryReadToken(token, out var id, out var offset))
        {
            return new PageResult(null, StatusBodies.BadRequest("continue key is not valid"));
        }

        Snapshot? snapshot;
        lock (_gate)
        {
            snapshot = _snapshots.GetValueOrDefault(id);
        }

        if (snapshot is null || snapshot.Version < horizon)
        {
            return new PageResult(null, StatusBodies.ContinueExpired());
        }

        if (snapshot.ListPath != listPath || offset > snapshot.Items.Count)
        {
            return new PageResult(null, StatusBodies.BadRequest("continue key is not valid for this list"));
        }

        var size = limit is { } requested and > 0 ? requested : int.MaxValue;
        var items = snapshot.Items.Skip(offset).Take(size).ToList();
        var next = offset + items.Count;
        if (next >= snapshot.Items.Count)
        {
            lock (_gate)
            {
                _snapshots.Remove(id);
            }

            return new PageResult(new Page(items, snapshot.Version, Continue: null, Remaining: null), null);
        }

        return new PageResult(new Page(items, snapshot.Version, Token(id, next), snapshot.Items.Count - next), null);
    }

    private static string Token(long id, int offset) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{id}:{offset}"));

    private static bool TryReadToken(string token, out long id, out int offset)
    {
        id = 0;
        offset = 0;
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token)).Split(':');
            return parts.Length == 2 && long.TryParse(parts[0], out id) && int.TryParse(parts[1], out offset) && offset >= 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private sealed record Snapshot(string ListPath, IReadOnlyList<StoredObject> Items, long Version);
}

internal sealed record Page(IReadOnlyList<StoredObject> Items, long Version, string? Continue, int? Remaining);

internal sealed record PageResult(Page? Page, ApiStatus? Error);

using System.Globalization;
using System.Text.Json.Nodes;

namespace LoadBalancer.Tests.FakeKubernetesApi;

internal enum WriteOutcome
{
    Created,
    Updated,
    Unchanged,
    Deleted,
    NotFound,
    AlreadyExists,
    Conflict,
    Invalid,
}

internal sealed record WriteResult(WriteOutcome Outcome, StoredObject? Object = null, string? Message = null)
{
    public bool Succeeded => Outcome is WriteOutcome.Created or WriteOutcome.Updated or WriteOutcome.Unchanged or WriteOutcome.Deleted;
}

/// <summary>
/// Every object of every kind, one resourceVersion counter for all writes (as etcd has), and the watches fed by
/// those writes. One lock orders all writes, so history, live events and list versions always agree.
/// </summary>
internal sealed class ObjectStore(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceKind, SortedDictionary<string, StoredObject>> _objects =
        ResourceKind.All.ToDictionary(kind => kind, _ => new SortedDictionary<string, StoredObject>(StringComparer.Ordinal));

    private readonly WatchHub _watches = new();
    private long _version;

    public long CurrentVersion
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>The oldest resourceVersion a watch or a continued list may still start from.</summary>
    public long Horizon
    {
        get
        {
            lock (_gate)
            {
                return _watches.Horizon;
            }
        }
    }

    public int OpenWatches => _watches.OpenCount;

    public StoredObject? Get(ResourceKind kind, string? ns, string name)
    {
        lock (_gate)
        {
            return _objects[kind].GetValueOrDefault(StoredObject.StoreKey(ns, name));
        }
    }

    /// <summary>The selected objects in key order and the resourceVersion they were read at.</summary>
    public (IReadOnlyList<StoredObject> Items, long Version) List(ResourceKind kind, string? ns, LabelSelector labels, LabelSelector fields)
    {
        lock (_gate)
        {
            var items = _objects[kind].Values
                .Where(item => (ns is null || item.Namespace == ns) && labels.Matches(item.Labels) && fields.Matches(item.Field))
                .ToList();
            return (items, _version);
        }
    }

    /// <summary>Creates or replaces without preconditions, as a test arranging the cluster wants; always writes.</summary>
    public WriteResult Put(ResourceKind kind, JsonObject node)
    {
        var metadata = Metadata(node);
        if (kind.Namespaced && string.IsNullOrEmpty((string?)metadata["namespace"]))
        {
            metadata["namespace"] = "default";
        }

        if (NameOf(node) is not { } name)
        {
            return new WriteResult(WriteOutcome.Invalid, Message: "metadata.name: Required value");
        }

        lock (_gate)
        {
            var previous = _objects[kind].GetValueOrDefault(StoredObject.StoreKey(NamespaceOf(kind, node), name));
            return Write(kind, node, previous);
        }
    }

    public WriteResult Create(ResourceKind kind, JsonObject node)
    {
        var metadata = Metadata(node);
        if (string.IsNullOrEmpty((string?)metadata["name"]) && (string?)metadata["generateName"] is { Length: > 0 } prefix)
        {
            metadata["name"] = prefix + RandomSuffix();
        }

        if (NameOf(node) is not { } name)
        {
            return new WriteResult(WriteOutcome.Invalid, Message: "metadata.name: Required value: name or generateName is required");
        }

        metadata.Remove("resourceVersion");
        lock (_gate)
        {
            var key = StoredObject.StoreKey(NamespaceOf(kind, node), name);
            return _objects[kind].ContainsKey(key)
                ? new WriteResult(WriteOutcome.AlreadyExists)
                : Write(kind, node, previous: null);
        }
    }

    /// <summary>PUT: optimistic when the body carries a resourceVersion; the status subresource keeps the stored status.</summary>
    public WriteResult Replace(ResourceKind kind, string? ns, string name, JsonObject node)
    {
        lock (_gate)
        {
            if (_objects[kind].GetValueOrDefault(StoredObject.StoreKey(ns, name)) is not { } previous)
            {
                return new WriteResult(WriteOutcome.NotFound);
            }

            if ((string?)Metadata(node)["resourceVersion"] is { Length: > 0 } expected && expected != Version(previous.ResourceVersion))
            {
                return new WriteResult(WriteOutcome.Conflict);
            }

            if (kind.HasStatus)
            {
                node["status"] = previous.ToNode()["status"]?.DeepClone();
            }

            return WriteUnlessUnchanged(kind, node, previous);
        }
    }

    /// <summary>
    /// Merge patch. On the status subresource only <c>status</c> changes; on the main resource everything but
    /// <c>status</c>. A <c>metadata.resourceVersion</c> in the patch is a precondition, as on the real server.
    /// </summary>
    public WriteResult Patch(ResourceKind kind, string? ns, string name, JsonObject patch, bool statusSubresource)
    {
        lock (_gate)
        {
            if (_objects[kind].GetValueOrDefault(StoredObject.StoreKey(ns, name)) is not { } previous)
            {
                return new WriteResult(WriteOutcome.NotFound);
            }

            if ((string?)patch["metadata"]?["resourceVersion"] is { Length: > 0 } expected && expected != Version(previous.ResourceVersion))
            {
                return new WriteResult(WriteOutcome.Conflict);
            }

            var current = previous.ToNode();
            var patched = (JsonObject)MergePatch.Apply(current, patch)!;
            JsonObject next;
            if (statusSubresource)
            {
                next = (JsonObject)current.DeepClone();
                next["status"] = patched["status"]?.DeepClone();
            }
            else
            {
                next = patched;
                if (kind.HasStatus)
                {
                    next["status"] = current["status"]?.DeepClone();
                }
            }

            return WriteUnlessUnchanged(kind, next, previous);
        }
    }

    public WriteResult Delete(ResourceKind kind, string? ns, string name)
    {
        lock (_gate)
        {
            if (!_objects[kind].Remove(StoredObject.StoreKey(ns, name), out var previous))
            {
                return new WriteResult(WriteOutcome.NotFound);
            }

            var tombstone = previous.ToNode();
            Metadata(tombstone)["resourceVersion"] = Version(++_version);
            var deleted = StoredObject.From(kind, tombstone);
            _watches.Publish(new Change(ChangeType.Deleted, previous, deleted));
            return new WriteResult(WriteOutcome.Deleted, deleted);
        }
    }

    /// <summary>Opens a watch; null when <paramref name="fromVersion"/> is older than the horizon (410 Expired).</summary>
    public WatchSubscription? Watch(WatchSubscription watch, long? fromVersion)
    {
        lock (_gate)
        {
            return fromVersion is { } version and > 0
                ? _watches.OpenFrom(watch, version)
                : _watches.OpenWithCurrentState(watch, _objects[watch.Kind].Values);
        }
    }

    public void CloseWatch(WatchSubscription watch)
    {
        lock (_gate)
        {
            _watches.Close(watch);
        }
    }

    public void CloseAllWatches()
    {
        lock (_gate)
        {
            _watches.CloseAll();
        }
    }

    public void Compact()
    {
        lock (_gate)
        {
            _watches.Compact(_version);
        }
    }

    public void SendBookmarks()
    {
        lock (_gate)
        {
            _watches.SendBookmarks(_version);
        }
    }

    public static string Version(long version) => version.ToString(CultureInfo.InvariantCulture);

    private WriteResult WriteUnlessUnchanged(ResourceKind kind, JsonObject next, StoredObject previous)
    {
        // The real server skips a write that changes nothing: no new resourceVersion, no watch event.
        var current = previous.ToNode();
        KeepIdentity(next, current);
        Metadata(next)["resourceVersion"] = Version(previous.ResourceVersion);
        next["kind"] = kind.Kind;
        next["apiVersion"] = kind.ApiVersion;
        return JsonNode.DeepEquals(next, current)
            ? new WriteResult(WriteOutcome.Unchanged, previous)
            : Write(kind, next, previous);
    }

    // Caller holds _gate.
    private WriteResult Write(ResourceKind kind, JsonObject node, StoredObject? previous)
    {
        node["kind"] = kind.Kind;
        node["apiVersion"] = kind.ApiVersion;
        var metadata = Metadata(node);
        if (previous is not null)
        {
            KeepIdentity(node, previous.ToNode());
        }

        if (string.IsNullOrEmpty((string?)metadata["uid"]))
        {
            metadata["uid"] = Guid.NewGuid().ToString();
        }

        if (metadata["creationTimestamp"] is null)
        {
            metadata["creationTimestamp"] = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        }

        metadata["resourceVersion"] = Version(++_version);
        var stored = StoredObject.From(kind, node);
        _objects[kind][stored.Key] = stored;
        _watches.Publish(new Change(previous is null ? ChangeType.Added : ChangeType.Modified, previous, stored));
        return new WriteResult(previous is null ? WriteOutcome.Created : WriteOutcome.Updated, stored);
    }

    // Name, namespace, uid and creation time belong to the stored object, whatever a write says.
    private static void KeepIdentity(JsonObject next, JsonObject current)
    {
        var target = Metadata(next);
        var source = Metadata(current);
        foreach (var field in new[] { "name", "namespace", "uid", "creationTimestamp" })
        {
            if (source[field] is { } value)
            {
                target[field] = value.DeepClone();
            }
        }
    }

    private static JsonObject Metadata(JsonObject node)
    {
        if (node["metadata"] is JsonObject metadata)
        {
            return metadata;
        }

        metadata = [];
        node["metadata"] = metadata;
        return metadata;
    }

    private static string? NameOf(JsonObject node) => (string?)node["metadata"]?["name"] is { Length: > 0 } name ? name : null;

    private static string? NamespaceOf(ResourceKind kind, JsonObject node) => kind.Namespaced ? (string?)node["metadata"]?["namespace"] : null;

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
            }
        });
    }
}

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>What the server has been asked, kept for tests to read while requests keep coming.</summary>
internal sealed class Recordings
{
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<RecordedPatch> _statusPatches = [];
    private readonly List<RecordedPatch> _patches = [];
    private readonly List<RecordedEvent> _events = [];

    public IReadOnlyList<RecordedRequest> Requests => Snapshot(_requests);

    public IReadOnlyList<RecordedPatch> StatusPatches => Snapshot(_statusPatches);

    public IReadOnlyList<RecordedPatch> Patches => Snapshot(_patches);

    public IReadOnlyList<RecordedEvent> Events => Snapshot(_events);

    public void Add(RecordedRequest request) => Add(_requests, request);

    public void Add(RecordedEvent recorded) => Add(_events, recorded);

    /// <summary>Status patches of Services go to <see cref="StatusPatches"/>, every other patch to <see cref="Patches"/>.</summary>
    public void Add(RecordedPatch patch) =>
        Add(patch is { Resource: "services", Subresource: "status" } ? _statusPatches : _patches, patch);

    private void Add<T>(List<T> list, T item)
    {
        lock (_gate)
        {
            list.Add(item);
        }
    }

    private T[] Snapshot<T>(List<T> list)
    {
        lock (_gate)
        {
            return [.. list];
        }
    }
}

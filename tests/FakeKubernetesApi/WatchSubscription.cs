using System.Threading.Channels;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>One open watch: what it selects, and the lines waiting to be written to its response.</summary>
internal sealed class WatchSubscription(ResourceKind kind, string? ns, LabelSelector labels, LabelSelector fields, bool bookmarks)
{
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    public ResourceKind Kind => kind;

    public bool WantsBookmarks => bookmarks;

    public ChannelReader<string> Lines => _lines.Reader;

    public bool Selects(StoredObject item) =>
        item.Kind == kind
        && (ns is null || item.Namespace == ns)
        && labels.Matches(item.Labels)
        && fields.Matches(item.Field);

    public void Send(string line) => _lines.Writer.TryWrite(line);

    /// <summary>Ends the stream after the lines already queued.</summary>
    public void End() => _lines.Writer.TryComplete();
}

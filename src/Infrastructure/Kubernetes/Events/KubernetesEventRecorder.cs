using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Events;

/// <summary>
/// Records an events.k8s.io/v1 Event on the Service for each Service event, and logs it. The Event is written in the
/// background (<see cref="BackgroundEventWriter"/>): recording never waits for the API server, and an identical Event
/// within the series window counts in the one already made. Each Event carries our label, so that what earlier runs
/// recorded can be read back in one list (<see cref="HeldAsync"/>): deciding what is news is the reconciler's. Failing
/// to write an Event is logged and otherwise ignored: an Event is never worth failing a reconcile.
/// </summary>
internal sealed class KubernetesEventRecorder : IEventRecorder, IAsyncDisposable, IDisposable
{
    /// <summary>The label our Events carry; label values may not hold the reporting controller's '/'.</summary>
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";

    public const string ManagedByValue = "little-load-balancer";

    /// <summary>The API server rejects a longer note (1 kB, counted in UTF-8 bytes).</summary>
    internal const int MaxNoteBytes = 1024;

    private const int PageSize = 500;
    private const string Ellipsis = "…";

    private static readonly Dictionary<string, string> ActionsByReason = new(StringComparer.Ordinal)
    {
        [ServiceEventReasons.Allocated] = "Allocate",
        [ServiceEventReasons.Applied] = "Apply",
        [ServiceEventReasons.ApplyFailed] = "Apply",
        [ServiceEventReasons.NotForwarded] = "Forward",
        [ServiceEventReasons.Released] = "Release",
    };

    private readonly IKubernetes _client;
    private readonly IServiceLookup _services;
    private readonly KubernetesEventOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<KubernetesEventRecorder> _logger;
    private readonly BackgroundEventWriter _writer;

    public KubernetesEventRecorder(
        IKubernetes client,
        IServiceLookup services,
        KubernetesEventOptions options,
        TimeProvider time,
        ILogger<KubernetesEventRecorder> logger)
    {
        _client = client;
        _services = services;
        _options = options;
        _time = time;
        _logger = logger;
        _writer = new BackgroundEventWriter(client, options, time, logger);
    }

    /// <summary>Logs the event and queues its Kubernetes Event; waits only when the backlog is full.</summary>
    public ValueTask RecordAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serviceEvent);
        cancellationToken.ThrowIfCancellationRequested();
        Log(serviceEvent);
        return _writer.EnqueueAsync(ToEvent(serviceEvent), cancellationToken);
    }

    /// <summary>Completes when every Event recorded so far has been written, or has failed (tests).</summary>
    internal Task WrittenAsync() => _writer.IdleAsync();

    /// <summary>Writes the Events still waiting, for a short while (<see cref="KubernetesEventOptions.FlushTimeout"/>).</summary>
    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    public void Dispose() => _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Our Events about Services in every namespace, oldest first, read in pages. Events expire on the API server (an
    /// hour by default), so what is older than that is news again, as it is to anyone reading the Service.
    /// </summary>
    public async ValueTask<IReadOnlyList<ServiceEvent>> HeldAsync(CancellationToken cancellationToken)
    {
        var held = new List<(DateTime When, ServiceEvent Event)>();
        string? next = null;
        do
        {
            var page = await _client.EventsV1.ListEventForAllNamespacesAsync(
                continueParameter: next, labelSelector: $"{ManagedByLabel}={ManagedByValue}", limit: PageSize, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            foreach (var item in page.Items ?? [])
            {
                if (FromEvent(item) is { } serviceEvent)
                {
                    // A series' last repeat is when it was last told: a Normal event between its first time and then
                    // does not make it news again.
                    var when = item.Series?.LastObservedTime ?? item.EventTime ?? item.DeprecatedLastTimestamp
                        ?? item.Metadata?.CreationTimestamp ?? DateTime.MinValue;
                    held.Add((when, serviceEvent));
                    if (!string.IsNullOrEmpty(item.Metadata?.Name))
                    {
                        _writer.Remember(item, when);
                    }
                }
            }

            next = string.IsNullOrEmpty(page.Metadata?.ContinueProperty) ? null : page.Metadata.ContinueProperty;
        }
        while (next is not null);

        return [.. held.OrderBy(entry => entry.When).Select(entry => entry.Event)];
    }

    private ServiceEvent? FromEvent(Eventsv1Event item)
    {
        var regarding = item.Regarding;
        if (regarding?.Kind != "Service" || string.IsNullOrEmpty(regarding.Name) || string.IsNullOrEmpty(regarding.NamespaceProperty)
            || item.ReportingController != _options.ReportingController || string.IsNullOrEmpty(item.Reason))
        {
            return null;
        }

        var type = item.Type == "Warning" ? ServiceEventType.Warning : ServiceEventType.Normal;
        return new ServiceEvent(new ServiceKey(regarding.NamespaceProperty, regarding.Name), type, item.Reason, item.Note ?? string.Empty);
    }

    private void Log(ServiceEvent serviceEvent)
    {
        if (serviceEvent.Type == ServiceEventType.Warning)
        {
            EventLog.Warning(_logger, serviceEvent.Service, serviceEvent.Reason, serviceEvent.Message);
        }
        else
        {
            EventLog.Normal(_logger, serviceEvent.Service, serviceEvent.Reason, serviceEvent.Message);
        }
    }

    private Eventsv1Event ToEvent(ServiceEvent serviceEvent)
    {
        var service = serviceEvent.Service;
        return new Eventsv1Event
        {
            ApiVersion = "events.k8s.io/v1",
            Kind = "Event",
            Metadata = new V1ObjectMeta
            {
                Name = NewName(service.Name),
                NamespaceProperty = service.Namespace,
                Labels = new Dictionary<string, string> { [ManagedByLabel] = ManagedByValue },
            },
            Regarding = new V1ObjectReference
            {
                ApiVersion = "v1",
                Kind = "Service",
                Name = service.Name,
                NamespaceProperty = service.Namespace,
                Uid = _services.Find(service)?.Metadata?.Uid,
            },
            Type = serviceEvent.Type == ServiceEventType.Warning ? "Warning" : "Normal",
            Reason = serviceEvent.Reason,
            Note = Truncate(serviceEvent.Message),
            Action = ActionsByReason.GetValueOrDefault(serviceEvent.Reason, "Reconcile"),
            EventTime = _time.GetUtcNow().UtcDateTime,
            ReportingController = _options.ReportingController,
            ReportingInstance = _options.ReportingInstance,
        };
    }

    /// <summary>A new Event name: the Service's name in front shows what it is about, the rest makes it unique.</summary>
    internal static string NewName(string serviceName) => $"{serviceName}.{RandomNumberGenerator.GetHexString(16, lowercase: true)}";

    /// <summary>Cuts a note the API server would reject to fit, between characters, marked with an ellipsis.</summary>
    internal static string Truncate(string note)
    {
        if (Encoding.UTF8.GetByteCount(note) <= MaxNoteBytes)
        {
            return note;
        }

        var room = MaxNoteBytes - Encoding.UTF8.GetByteCount(Ellipsis);
        var bytes = 0;
        var length = 0;
        foreach (var rune in note.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > room)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            length += rune.Utf16SequenceLength;
        }

        return string.Concat(note.AsSpan(0, length), Ellipsis);
    }
}

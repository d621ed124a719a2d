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
/// Creates an events.k8s.io/v1 Event on the Service for each Service event, and logs it. Each Event carries our
/// label, so that what earlier runs recorded can be read back in one list (<see cref="HeldAsync"/>): deciding what is
/// news is the reconciler's. Failing to create an Event is logged and otherwise ignored: an Event is never worth failing
/// a reconcile.
/// </summary>
internal sealed class KubernetesEventRecorder(
    IKubernetes client,
    IServiceLookup services,
    KubernetesEventOptions options,
    TimeProvider time,
    ILogger<KubernetesEventRecorder> logger)
    : IEventRecorder
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

    public async ValueTask RecordAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serviceEvent);
        Log(serviceEvent);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.CreateTimeout);
            await client.EventsV1.CreateNamespacedEventAsync(ToEvent(serviceEvent), serviceEvent.Service.Namespace, cancellationToken: timeout.Token)
                .ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            EventLog.CreateFailed(logger, serviceEvent.Service, serviceEvent.Reason, failure.Message);
        }
    }

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
            var page = await client.EventsV1.ListEventForAllNamespacesAsync(
                continueParameter: next, labelSelector: $"{ManagedByLabel}={ManagedByValue}", limit: PageSize, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            foreach (var item in page.Items ?? [])
            {
                if (FromEvent(item) is { } serviceEvent)
                {
                    held.Add((item.EventTime ?? item.DeprecatedLastTimestamp ?? item.Metadata?.CreationTimestamp ?? DateTime.MinValue, serviceEvent));
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
            || item.ReportingController != options.ReportingController || string.IsNullOrEmpty(item.Reason))
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
            EventLog.Warning(logger, serviceEvent.Service, serviceEvent.Reason, serviceEvent.Message);
        }
        else
        {
            EventLog.Normal(logger, serviceEvent.Service, serviceEvent.Reason, serviceEvent.Message);
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
                // Event names only need to be unique; the Service's name in front shows what they are about.
                Name = $"{service.Name}.{RandomNumberGenerator.GetHexString(16, lowercase: true)}",
                NamespaceProperty = service.Namespace,
                Labels = new Dictionary<string, string> { [ManagedByLabel] = ManagedByValue },
            },
            Regarding = new V1ObjectReference
            {
                ApiVersion = "v1",
                Kind = "Service",
                Name = service.Name,
                NamespaceProperty = service.Namespace,
                Uid = services.Find(service)?.Metadata?.Uid,
            },
            Type = serviceEvent.Type == ServiceEventType.Warning ? "Warning" : "Normal",
            Reason = serviceEvent.Reason,
            Note = Truncate(serviceEvent.Message),
            Action = ActionsByReason.GetValueOrDefault(serviceEvent.Reason, "Reconcile"),
            EventTime = time.GetUtcNow().UtcDateTime,
            ReportingController = options.ReportingController,
            ReportingInstance = options.ReportingInstance,
        };
    }

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

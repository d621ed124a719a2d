using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Events;

/// <summary>
/// Creates an events.k8s.io/v1 Event on the Service for each Service event, and logs it. Reconciling the same Service
/// again repeats the same events, so one identical to the last sent for the Service and reason is not sent again.
/// Failing to create an Event is logged and otherwise ignored: an Event is never worth failing a reconcile.
/// </summary>
internal sealed class KubernetesEventRecorder(
    IKubernetes client,
    IServiceLookup services,
    KubernetesEventOptions options,
    TimeProvider time,
    ILogger<KubernetesEventRecorder> logger)
    : IEventRecorder, IServiceEventMemory
{
    /// <summary>The API server rejects a longer note (1 kB, counted in UTF-8 bytes).</summary>
    internal const int MaxNoteBytes = 1024;

    private const string Ellipsis = "…";

    private static readonly Dictionary<string, string> ActionsByReason = new(StringComparer.Ordinal)
    {
        [ApplyServiceHandler.AllocatedReason] = "Allocate",
        [ApplyServiceHandler.FailedReason] = "Apply",
        [ApplyServiceHandler.NotForwardedReason] = "Forward",
        [RemoveServiceHandler.ReleasedReason] = "Release",
    };

    /// <summary>The last event sent per Service and reason; emptied for a Service when it is deleted.</summary>
    private readonly ConcurrentDictionary<ServiceKey, ConcurrentDictionary<string, ServiceEvent>> _sent = new();

    public async ValueTask RecordAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serviceEvent);
        var sent = _sent.GetOrAdd(serviceEvent.Service, _ => new ConcurrentDictionary<string, ServiceEvent>(StringComparer.Ordinal));
        if (!Claim(sent, serviceEvent))
        {
            return;
        }

        if (serviceEvent.Type == ServiceEventType.Normal)
        {
            // Something good happened (allocated, released, backends back): the situation has moved on, so a warning
            // or an allocation identical to an earlier one is news again.
            foreach (var reason in sent.Keys.Where(reason => reason != serviceEvent.Reason))
            {
                sent.TryRemove(reason, out _);
            }
        }

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
            // Not sent, so not remembered: the next identical event tries again.
            sent.TryRemove(KeyValuePair.Create(serviceEvent.Reason, serviceEvent));
            cancellationToken.ThrowIfCancellationRequested();
            EventLog.CreateFailed(logger, serviceEvent.Service, serviceEvent.Reason, failure.Message);
        }
    }

    public void Forget(ServiceKey service) => _sent.TryRemove(service, out _);

    /// <summary>Marks the event as sent unless it is the one last sent for its reason.</summary>
    private static bool Claim(ConcurrentDictionary<string, ServiceEvent> sent, ServiceEvent serviceEvent)
    {
        while (true)
        {
            if (sent.TryGetValue(serviceEvent.Reason, out var previous))
            {
                if (previous == serviceEvent)
                {
                    return false;
                }

                if (sent.TryUpdate(serviceEvent.Reason, serviceEvent, previous))
                {
                    return true;
                }
            }
            else if (sent.TryAdd(serviceEvent.Reason, serviceEvent))
            {
                return true;
            }
        }
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

using System.Globalization;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Leadership;

internal enum LeaseVerb
{
    Read,
    Create,
    Replace,
}

/// <summary>One call a candidate made, with what it wrote (for a write) and the kind of answer it got.</summary>
internal sealed record LeaseCall(string Candidate, LeaseVerb Verb, DateTimeOffset At, string? WrittenHolder, LeaseAnswerKind Answer);

/// <summary>
/// One Lease kept in memory with the API server's optimistic concurrency (a write with an old resourceVersion gets
/// 409), seen by each candidate through its own <see cref="ScriptedLeaseClient"/>, which a test can make fail, hang,
/// or answer anything. Answers are immediate unless a call is made to hang, so the elector's code between two timers
/// runs without a pause.
/// </summary>
internal sealed class InMemoryLeaseApi(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly List<LeaseCall> _calls = [];
    private V1Lease? _stored;
    private long _version;
    private int _pending;

    /// <summary>Calls that hang, waiting for their cancellation.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public IReadOnlyList<LeaseCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>A copy of the stored Lease; null when there is none.</summary>
    public V1Lease? Lease
    {
        get
        {
            lock (_gate)
            {
                return _stored is null ? null : Copy(_stored);
            }
        }
    }

    public string? Holder => Lease?.Spec?.HolderIdentity;

    public ScriptedLeaseClient ClientFor(string candidate) => new(this, candidate);

    /// <summary>Stores a Lease as another writer (kubectl, a replica the test plays) would, with a new resourceVersion.</summary>
    public void Put(string? holder, int durationSeconds = 2, DateTime? renewTime = null, int transitions = 0)
    {
        lock (_gate)
        {
            var lease = new V1Lease
            {
                ApiVersion = "coordination.k8s.io/v1",
                Kind = "Lease",
                Metadata = new V1ObjectMeta { Name = "llb", NamespaceProperty = "kube-system" },
                Spec = new V1LeaseSpec
                {
                    HolderIdentity = holder,
                    LeaseDurationSeconds = durationSeconds,
                    RenewTime = renewTime ?? time.GetUtcNow().UtcDateTime,
                    AcquireTime = renewTime ?? time.GetUtcNow().UtcDateTime,
                    LeaseTransitions = transitions,
                },
            };
            Store(lease);
        }
    }

    /// <summary>Changes the stored Lease as another writer would (a new resourceVersion).</summary>
    public void Edit(Action<V1Lease> edit)
    {
        lock (_gate)
        {
            var lease = Copy(_stored ?? throw new InvalidOperationException("no Lease to edit"));
            edit(lease);
            Store(lease);
        }
    }

    public void Delete()
    {
        lock (_gate)
        {
            _stored = null;
        }
    }

    internal LeaseAnswer Answer(string candidate, LeaseVerb verb, V1Lease? body)
    {
        lock (_gate)
        {
            var answer = verb switch
            {
                LeaseVerb.Read => _stored is null ? LeaseAnswer.NotFound : LeaseAnswer.Of(Copy(_stored)),
                LeaseVerb.Create => _stored is not null ? LeaseAnswer.Conflict : LeaseAnswer.Of(Store(Copy(body!))),
                _ => _stored is null ? LeaseAnswer.NotFound
                    : body!.Metadata?.ResourceVersion is { Length: > 0 } version && version != _stored.Metadata.ResourceVersion ? LeaseAnswer.Conflict
                    : LeaseAnswer.Of(Store(Copy(body))),
            };
            Record(candidate, verb, body, answer.Kind);
            return answer;
        }
    }

    internal void Record(string candidate, LeaseVerb verb, V1Lease? body, LeaseAnswerKind answer)
    {
        lock (_gate)
        {
            _calls.Add(new LeaseCall(candidate, verb, time.GetUtcNow(), body?.Spec?.HolderIdentity, answer));
        }
    }

    internal Task<LeaseAnswer> HangAsync(CancellationToken cancellationToken)
    {
        // Counted down inside the cancellation itself, not in a continuation that may run later on another thread: a
        // test that settles right after a cancellation must not take a cancelled call for one that still waits.
        var answer = new TaskCompletionSource<LeaseAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref _pending);
        cancellationToken.UnsafeRegister(
            _ =>
            {
                Interlocked.Decrement(ref _pending);
                answer.TrySetCanceled(cancellationToken);
            },
            null);
        return answer.Task;
    }

    private V1Lease Store(V1Lease lease)
    {
        lease.Metadata ??= new V1ObjectMeta { Name = "llb", NamespaceProperty = "kube-system" };
        lease.Metadata.ResourceVersion = (++_version).ToString(CultureInfo.InvariantCulture);
        _stored = lease;
        return Copy(lease);
    }

    /// <summary>A copy of what the elector reads and writes, so that neither side changes the other's object.</summary>
    private static V1Lease Copy(V1Lease lease) => new()
    {
        ApiVersion = lease.ApiVersion,
        Kind = lease.Kind,
        Metadata = lease.Metadata is { } metadata
            ? new V1ObjectMeta { Name = metadata.Name, NamespaceProperty = metadata.NamespaceProperty, ResourceVersion = metadata.ResourceVersion }
            : null,
        Spec = lease.Spec is { } spec
            ? new V1LeaseSpec
            {
                HolderIdentity = spec.HolderIdentity,
                LeaseDurationSeconds = spec.LeaseDurationSeconds,
                AcquireTime = spec.AcquireTime,
                RenewTime = spec.RenewTime,
                LeaseTransitions = spec.LeaseTransitions,
            }
            : null,
    };
}

/// <summary>One candidate's view of the <see cref="InMemoryLeaseApi"/>, which the test can break.</summary>
internal sealed class ScriptedLeaseClient(InMemoryLeaseApi api, string candidate) : ILeaseClient
{
    private readonly Queue<LeaseAnswer> _next = new();
    private volatile LeaseAnswer? _failing;
    private volatile bool _hanging;

    /// <summary>While set, every call gets this answer and never reaches the Lease (an outage, a partition).</summary>
    public LeaseAnswer? Failing
    {
        get => _failing;
        set => _failing = value;
    }

    /// <summary>While true, every new call hangs until it is cancelled (an API server that accepts and never answers).</summary>
    public bool Hanging
    {
        get => _hanging;
        set => _hanging = value;
    }

    /// <summary>The next calls get these answers, one each, before <see cref="Failing"/> or the Lease is consulted.</summary>
    public void AnswerNext(params LeaseAnswer[] answers)
    {
        lock (_next)
        {
            foreach (var answer in answers)
            {
                _next.Enqueue(answer);
            }
        }
    }

    public Task<LeaseAnswer> ReadAsync(CancellationToken cancellationToken) => CallAsync(LeaseVerb.Read, null, cancellationToken);

    public Task<LeaseAnswer> CreateAsync(V1Lease lease, CancellationToken cancellationToken) => CallAsync(LeaseVerb.Create, lease, cancellationToken);

    public Task<LeaseAnswer> ReplaceAsync(V1Lease lease, CancellationToken cancellationToken) => CallAsync(LeaseVerb.Replace, lease, cancellationToken);

    private Task<LeaseAnswer> CallAsync(LeaseVerb verb, V1Lease? body, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_next)
        {
            if (_next.TryDequeue(out var scripted))
            {
                api.Record(candidate, verb, body, scripted.Kind);
                return Task.FromResult(scripted);
            }
        }

        if (Hanging)
        {
            api.Record(candidate, verb, body, LeaseAnswerKind.TimedOut);
            return api.HangAsync(cancellationToken);
        }

        if (Failing is { } failing)
        {
            api.Record(candidate, verb, body, failing.Kind);
            return Task.FromResult(failing);
        }

        return Task.FromResult(api.Answer(candidate, verb, body));
    }
}

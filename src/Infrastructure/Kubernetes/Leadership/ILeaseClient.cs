using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Leadership;

/// <summary>
/// The three calls the elector makes on its one Lease, with every answer a value. The elector depends on this, not on
/// the client, so that tests can make the API server answer 401, 409, 500 or nothing at all, on a fake clock.
/// </summary>
/// <remarks>
/// Cancellation of <c>cancellationToken</c> ends a call with <see cref="OperationCanceledException"/>; everything
/// else the server or the network does is a <see cref="LeaseAnswer"/>.
/// </remarks>
internal interface ILeaseClient
{
    /// <summary>The Lease, or <see cref="LeaseAnswerKind.NotFound"/> when it does not exist.</summary>
    Task<LeaseAnswer> ReadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The created Lease, or <see cref="LeaseAnswerKind.Conflict"/> when it exists already. A 404 here means the
    /// namespace is missing, which says nothing about the Lease: it is a <see cref="LeaseAnswerKind.Status"/> answer.
    /// </summary>
    Task<LeaseAnswer> CreateAsync(V1Lease lease, CancellationToken cancellationToken);

    /// <summary>
    /// The Lease as written, or <see cref="LeaseAnswerKind.Conflict"/> when its resourceVersion is not the stored one
    /// (someone else wrote since), or <see cref="LeaseAnswerKind.NotFound"/> when it was deleted.
    /// </summary>
    Task<LeaseAnswer> ReplaceAsync(V1Lease lease, CancellationToken cancellationToken);
}

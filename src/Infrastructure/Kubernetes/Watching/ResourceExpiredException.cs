namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>
/// The API server no longer has the history a watch or a continued list asked for (410 Gone, reason Expired): the
/// caller must list again from scratch.
/// </summary>
internal sealed class ResourceExpiredException : Exception
{
    public ResourceExpiredException()
    {
    }

    public ResourceExpiredException(string message)
        : base(message)
    {
    }

    public ResourceExpiredException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

using Mediator;

namespace LoadBalancer.Application.Services.GetAppliedServices;

/// <summary>The Services running now, ordered by namespace and name.</summary>
public sealed record GetAppliedServices : IQuery<IReadOnlyList<AppliedService>>;

public sealed class GetAppliedServicesHandler(IAppliedServiceRegistry applied)
    : IQueryHandler<GetAppliedServices, IReadOnlyList<AppliedService>>
{
    public ValueTask<IReadOnlyList<AppliedService>> Handle(GetAppliedServices query, CancellationToken cancellationToken) =>
        ValueTask.FromResult(applied.All());
}

using System.Reflection;
using FluentValidation;
using Mediator;

namespace LoadBalancer.Application.Common.Validation;

/// <summary>Runs every validator of a message and reports all of their errors at once, before the handler runs.</summary>
public sealed class ValidationBehavior<TMessage, TResponse>(IEnumerable<IValidator<TMessage>> validators)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    private readonly IValidator<TMessage>[] _validators = [.. validators];

    public async ValueTask<TResponse> Handle(
        TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (_validators.Length == 0)
        {
            return await next(message, cancellationToken).ConfigureAwait(false);
        }

        var errors = new List<ValidationError>();
        foreach (var validator in _validators)
        {
            // A context collects failures, so each validator gets its own; a shared one would repeat earlier errors.
            // Synchronously: no rule of ours awaits anything, and the async path costs a state machine per rule, which a
            // restart or a takeover pays 5,000 times over (FluentValidation throws should an async rule ever be added).
            var result = validator.Validate(new ValidationContext<TMessage>(message));
            errors.AddRange(result.Errors.Select(ValidationError.From));
        }

        if (errors.Count == 0)
        {
            return await next(message, cancellationToken).ConfigureAwait(false);
        }

        return ValidationFailure<TResponse>.Create is { } create
            ? create(errors)
            : throw new RequestValidationException(typeof(TMessage).Name, errors);
    }
}

/// <summary>Finds, once per response type, how to turn errors into that response.</summary>
internal static class ValidationFailure<TResponse>
{
    public static readonly Func<IReadOnlyList<ValidationError>, TResponse>? Create = Find();

    private static Func<IReadOnlyList<ValidationError>, TResponse>? Find()
    {
        var carriesErrors = typeof(TResponse).GetInterfaces().Any(contract =>
            contract.IsGenericType
            && contract.GetGenericTypeDefinition() == typeof(IValidationFailureResponse<>)
            && contract.GenericTypeArguments[0] == typeof(TResponse));
        if (!carriesErrors)
        {
            return null;
        }

        var method = typeof(ValidationFailure<TResponse>)
            .GetMethod(nameof(FromErrors), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(typeof(TResponse));
        return method.CreateDelegate<Func<IReadOnlyList<ValidationError>, TResponse>>();
    }

    private static TSelf FromErrors<TSelf>(IReadOnlyList<ValidationError> errors)
        where TSelf : IValidationFailureResponse<TSelf> => TSelf.FromValidationErrors(errors);
}

using FluentValidation.Results;

namespace LoadBalancer.Application.Common.Validation;

/// <summary>One problem with a request, naming the field and the value that was given.</summary>
public sealed record ValidationError(string Field, string? AttemptedValue, string Message)
{
    public static ValidationError From(ValidationFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return new ValidationError(failure.PropertyName, Describe(failure.AttemptedValue), failure.ErrorMessage);
    }

    public override string ToString() => Message;

    private static string? Describe(object? value) => value switch
    {
        null => null,
        string text => text,
        System.Collections.IEnumerable items => $"[{string.Join(", ", items.Cast<object?>())}]",
        _ => value.ToString(),
    };
}

/// <summary>
/// A response that can carry validation errors, so that the validation behaviour returns bad input as a value instead
/// of throwing.
/// </summary>
public interface IValidationFailureResponse<TSelf>
    where TSelf : IValidationFailureResponse<TSelf>
{
    static abstract TSelf FromValidationErrors(IReadOnlyList<ValidationError> errors);
}

/// <summary>Thrown for a request whose response type cannot carry validation errors.</summary>
public sealed class RequestValidationException : Exception
{
    public RequestValidationException(string requestName, IReadOnlyList<ValidationError> errors)
        : base($"{requestName} is invalid: {string.Join("; ", errors.Select(error => error.Message))}")
    {
        Errors = errors;
    }

    public RequestValidationException()
        : this("request", [])
    {
    }

    public RequestValidationException(string message)
        : base(message)
    {
        Errors = [];
    }

    public RequestValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public IReadOnlyList<ValidationError> Errors { get; }
}

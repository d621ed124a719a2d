using System.Collections.Concurrent;
using FluentValidation;
using LoadBalancer.Application.Common.Validation;
using Mediator;

namespace LoadBalancer.Application.Tests.Support;

/// <summary>
/// A mediator for Application tests, where the source generator does not run: it sends each message to the real handler
/// registered for it, through the real <see cref="ValidationBehavior{TMessage, TResponse}"/>, and records every message
/// sent, so a test can see which commands a handler or the reconciler sent, in order.
/// </summary>
internal sealed class HandlerSender : ISender
{
    private readonly ConcurrentDictionary<Type, Func<object, CancellationToken, ValueTask<object?>>> _handlers = new();

    public ConcurrentQueue<object> Sent { get; } = new();

    public HandlerSender Handle<TMessage, TResponse>(ICommandHandler<TMessage, TResponse> handler, params IValidator<TMessage>[] validators)
        where TMessage : ICommand<TResponse> =>
        Register<TMessage, TResponse>((message, ct) => handler.Handle(message, ct), validators);

    public HandlerSender Handle<TMessage, TResponse>(IQueryHandler<TMessage, TResponse> handler, params IValidator<TMessage>[] validators)
        where TMessage : IQuery<TResponse> =>
        Register<TMessage, TResponse>((message, ct) => handler.Handle(message, ct), validators);

    /// <summary>The messages of type <typeparamref name="T"/> sent so far, in order.</summary>
    public List<T> SentOf<T>() => [.. Sent.OfType<T>()];

    public ValueTask<TResponse> Send<TResponse>(IRequest<TResponse> request, CancellationToken cancellationToken = default) => Dispatch<TResponse>(request, cancellationToken);

    public ValueTask<TResponse> Send<TResponse>(ICommand<TResponse> command, CancellationToken cancellationToken = default) => Dispatch<TResponse>(command, cancellationToken);

    public ValueTask<TResponse> Send<TResponse>(IQuery<TResponse> query, CancellationToken cancellationToken = default) => Dispatch<TResponse>(query, cancellationToken);

    public async ValueTask<object?> Send(object message, CancellationToken cancellationToken = default) =>
        await Handler(message)(message, cancellationToken);

    public IAsyncEnumerable<TResponse> CreateStream<TResponse>(IStreamQuery<TResponse> query, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public IAsyncEnumerable<TResponse> CreateStream<TResponse>(IStreamRequest<TResponse> request, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public IAsyncEnumerable<TResponse> CreateStream<TResponse>(IStreamCommand<TResponse> command, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public IAsyncEnumerable<object?> CreateStream(object message, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    private HandlerSender Register<TMessage, TResponse>(Func<TMessage, CancellationToken, ValueTask<TResponse>> handle, IValidator<TMessage>[] validators)
        where TMessage : IMessage
    {
        var behavior = new ValidationBehavior<TMessage, TResponse>(validators);
        _handlers[typeof(TMessage)] = async (message, ct) =>
            await behavior.Handle((TMessage)message, (m, token) => handle(m, token), ct);
        return this;
    }

    private async ValueTask<TResponse> Dispatch<TResponse>(object message, CancellationToken cancellationToken) =>
        (TResponse)(await Handler(message)(message, cancellationToken))!;

    private Func<object, CancellationToken, ValueTask<object?>> Handler(object message)
    {
        Sent.Enqueue(message);
        return _handlers.TryGetValue(message.GetType(), out var handler)
            ? handler
            : throw new InvalidOperationException($"No handler registered for {message.GetType().Name}");
    }
}

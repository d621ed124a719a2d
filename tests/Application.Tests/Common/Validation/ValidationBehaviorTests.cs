using FluentValidation;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Common.Validation;
using Mediator;
using static LoadBalancer.Application.Tests.TestData;
using AllocateCommand = LoadBalancer.Application.Allocation.AllocateLoadBalancerIp.AllocateLoadBalancerIp;

namespace LoadBalancer.Application.Tests.Common.Validation;

public sealed class ValidationBehaviorTests
{
    private int _nextCalls;

    [Fact]
    public async Task Handle_InvalidCommand_ReturnsEveryErrorWithoutCallingNext()
    {
        var behavior = new ValidationBehavior<AllocateCommand, AllocateLoadBalancerIpResponse>([new AllocateLoadBalancerIpValidator()]);
        var spec = new ServiceSpec("Bad_NS", "web", [new("SCTP", 80), Tcp(0)], LoadBalancerIp: "300.1.1.1");

        var response = await behavior.Handle(new AllocateCommand(spec), Next<AllocateCommand, AllocateLoadBalancerIpResponse>(new()), CancellationToken.None);

        Assert.Equal(0, _nextCalls);
        Assert.False(response.Succeeded);
        Assert.Null(response.Refusal);
        Assert.Equal(
            [
                new ValidationError("Service.Namespace", "Bad_NS",
                    "namespace 'Bad_NS' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit"),
                new ValidationError("Service.Ports[0].Protocol", "SCTP", "protocol 'SCTP' of port 80 must be TCP or UDP"),
                new ValidationError("Service.Ports[1].Port", "0", "port 0 must be between 1 and 65535"),
                new ValidationError("Service.LoadBalancerIp", "300.1.1.1", "loadBalancerIP: invalid IP address: '300.1.1.1'"),
            ],
            response.ValidationErrors);
    }

    [Fact]
    public async Task Handle_NullService_ReturnsOneErrorWithoutCallingNext()
    {
        var behavior = new ValidationBehavior<AllocateCommand, AllocateLoadBalancerIpResponse>([new AllocateLoadBalancerIpValidator()]);

        var response = await behavior.Handle(new AllocateCommand(null!), Next<AllocateCommand, AllocateLoadBalancerIpResponse>(new()), CancellationToken.None);

        Assert.Equal(0, _nextCalls);
        Assert.Equal(["service: a Service is required"], Messages(response.ValidationErrors));
    }

    [Fact]
    public async Task Handle_ValidCommand_ReturnsWhatNextReturns()
    {
        var behavior = new ValidationBehavior<AllocateCommand, AllocateLoadBalancerIpResponse>([new AllocateLoadBalancerIpValidator()]);
        var fromHandler = new AllocateLoadBalancerIpResponse();

        var response = await behavior.Handle(new AllocateCommand(Spec("web", 80)), Next<AllocateCommand, AllocateLoadBalancerIpResponse>(fromHandler), CancellationToken.None);

        Assert.Equal(1, _nextCalls);
        Assert.Same(fromHandler, response);
    }

    [Fact]
    public async Task Handle_NoValidators_CallsNext()
    {
        var behavior = new ValidationBehavior<Probe, ProbeResponse>([]);
        var fromHandler = new ProbeResponse();

        var response = await behavior.Handle(new Probe("", -1), Next<Probe, ProbeResponse>(fromHandler), CancellationToken.None);

        Assert.Equal(1, _nextCalls);
        Assert.Same(fromHandler, response);
    }

    [Fact]
    public async Task Handle_ValidatorsOfOneMessage_ReportEachErrorExactlyOnce()
    {
        var behavior = new ValidationBehavior<Probe, ProbeResponse>([new ProbeNameValidator(), new ProbeCountValidator()]);

        var response = await behavior.Handle(new Probe("", -1), Next<Probe, ProbeResponse>(new()), CancellationToken.None);

        Assert.Equal(0, _nextCalls);
        Assert.Equal(["name '' is required", "count -1 must not be negative"], Messages(response.ValidationErrors));
    }

    [Fact]
    public async Task Handle_OneOfTwoValidatorsFails_ReturnsOnlyItsError()
    {
        var behavior = new ValidationBehavior<Probe, ProbeResponse>([new ProbeNameValidator(), new ProbeCountValidator()]);

        var response = await behavior.Handle(new Probe("ok", -1), Next<Probe, ProbeResponse>(new()), CancellationToken.None);

        var error = Assert.Single(response.ValidationErrors);
        Assert.Equal(new ValidationError("Count", "-1", "count -1 must not be negative"), error);
    }

    [Fact]
    public async Task Handle_ResponseCannotCarryErrors_ThrowsListingEveryError()
    {
        var behavior = new ValidationBehavior<PlainProbe, string>([new PlainProbeValidator()]);

        var thrown = await Assert.ThrowsAsync<RequestValidationException>(async () =>
            await behavior.Handle(new PlainProbe("", -1), Next<PlainProbe, string>("handled"), CancellationToken.None));

        Assert.Equal(0, _nextCalls);
        Assert.Equal(["name '' is required", "count -1 must not be negative"], Messages(thrown.Errors));
        Assert.Equal("PlainProbe is invalid: name '' is required; count -1 must not be negative", thrown.Message);
    }

    [Fact]
    public async Task Handle_ResponseCannotCarryErrorsButMessageIsValid_CallsNext()
    {
        var behavior = new ValidationBehavior<PlainProbe, string>([new PlainProbeValidator()]);

        var response = await behavior.Handle(new PlainProbe("ok", 1), Next<PlainProbe, string>("handled"), CancellationToken.None);

        Assert.Equal("handled", response);
        Assert.Equal(1, _nextCalls);
    }

    [Fact]
    public async Task Handle_NullNext_Throws()
    {
        var behavior = new ValidationBehavior<Probe, ProbeResponse>([]);

        await Assert.ThrowsAsync<ArgumentNullException>(async () =>
            await behavior.Handle(new Probe("ok", 1), null!, CancellationToken.None));
    }

    private MessageHandlerDelegate<TMessage, TResponse> Next<TMessage, TResponse>(TResponse response)
        where TMessage : notnull, IMessage =>
        (_, _) =>
        {
            _nextCalls++;
            return ValueTask.FromResult(response);
        };

    internal sealed record Probe(string Name, int Count) : ICommand<ProbeResponse>;

    internal sealed record ProbeResponse : IValidationFailureResponse<ProbeResponse>
    {
        public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

        public static ProbeResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) => new() { ValidationErrors = errors };
    }

    internal sealed record PlainProbe(string Name, int Count) : ICommand<string>;

    private sealed class ProbeNameValidator : AbstractValidator<Probe>
    {
        public ProbeNameValidator() =>
            RuleFor(probe => probe.Name).NotEmpty().WithMessage(probe => $"name '{probe.Name}' is required");
    }

    private sealed class ProbeCountValidator : AbstractValidator<Probe>
    {
        public ProbeCountValidator() =>
            RuleFor(probe => probe.Count).GreaterThanOrEqualTo(0).WithMessage(probe => $"count {probe.Count} must not be negative");
    }

    private sealed class PlainProbeValidator : AbstractValidator<PlainProbe>
    {
        public PlainProbeValidator()
        {
            RuleFor(probe => probe.Name).NotEmpty().WithMessage(probe => $"name '{probe.Name}' is required");
            RuleFor(probe => probe.Count).GreaterThanOrEqualTo(0).WithMessage(probe => $"count {probe.Count} must not be negative");
        }
    }
}

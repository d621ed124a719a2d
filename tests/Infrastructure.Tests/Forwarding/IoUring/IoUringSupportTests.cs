using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.IoUring;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.IoUring;

/// <summary>The probe that decides whether the io_uring engine runs, and the fallback chain it feeds.</summary>
public sealed class IoUringSupportTests
{
    [Fact]
    public void Probe_WithTheSysctlSayingDisabled_RefusesNamingTheSysctl()
    {
        var reason = IoUringSupport.RunProbe(() => 2);

        Assert.Equal("io_uring is disabled by the sysctl kernel.io_uring_disabled = 2", reason);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    public void Probe_WithTheSysctlAbsentOrZero_PassesOnThisKernel(int? sysctl)
    {
        Assert.Null(IoUringSupport.RunProbe(() => sysctl));
    }

    [Fact]
    public void Probe_ChecksEveryOpcodeTheEngineSubmits()
    {
        Assert.Equal(
            ["ACCEPT", "ASYNC_CANCEL", "CLOSE", "CONNECT", "LINK_TIMEOUT", "POLL_ADD", "READ", "RECV", "SEND", "SHUTDOWN"],
            IoUringSupport.Opcodes.Select(op => op.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ChooseEngine_IoUringAvailable_RunsIoUringWithoutAskingSplice()
    {
        var logger = new CapturingLogger<IoUringSupportTests>();

        var engine = TcpForwarder.ChooseEngine(ForwardingEngine.IoUring, () => null, () => throw new InvalidOperationException("splice was probed"), logger);

        Assert.Equal(ForwardingEngine.IoUring, engine);
        Assert.Empty(logger.Entries);
    }

    [Fact]
    public void ChooseEngine_IoUringRefused_FallsBackToSplice_LoggingWhy()
    {
        var logger = new CapturingLogger<IoUringSupportTests>();

        var engine = TcpForwarder.ChooseEngine(ForwardingEngine.IoUring, () => "seccomp", () => null, logger);

        Assert.Equal(ForwardingEngine.Splice, engine);
        var line = Assert.Single(logger.Entries);
        Assert.Equal(2016, line.EventId.Id);
        Assert.Contains("seccomp", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChooseEngine_IoUringAndSpliceRefused_FallsBackToCopy_LoggingBoth()
    {
        var logger = new CapturingLogger<IoUringSupportTests>();

        var engine = TcpForwarder.ChooseEngine(ForwardingEngine.IoUring, () => "no io_uring", () => "no splice", logger);

        Assert.Equal(ForwardingEngine.Copy, engine);
        Assert.Equal([2016, 2012], logger.Entries.Select(entry => entry.EventId.Id));
    }

    [Theory]
    [InlineData(ForwardingEngine.Splice, ForwardingEngine.Splice)]
    [InlineData(ForwardingEngine.Copy, ForwardingEngine.Copy)]
    public void ChooseEngine_AnotherEngineAsked_NeverProbesIoUring(ForwardingEngine asked, ForwardingEngine expected)
    {
        var logger = new CapturingLogger<IoUringSupportTests>();

        var engine = TcpForwarder.ChooseEngine(asked, () => throw new InvalidOperationException("io_uring was probed"), () => null, logger);

        Assert.Equal(expected, engine);
    }
}

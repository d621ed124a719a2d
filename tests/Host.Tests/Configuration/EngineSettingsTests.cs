using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Tests.Support;
using LoadBalancer.Infrastructure.Forwarding;

namespace LoadBalancer.Host.Tests.Configuration;

/// <summary>The engine setting through every layer: io_uring by default, each name understood, anything else refused naming it.</summary>
public sealed class EngineSettingsTests
{
    [Fact]
    public void Default_IsIoUring()
    {
        var loaded = InProcess.Configuration(["check"]);

        Assert.Equal("io_uring", loaded.Root[Settings.Engine]);
        Assert.Equal(ForwardingEngine.IoUring, InProcess.Settings(["check"]).ForwardingEngine);
        Assert.Equal(ForwardingEngine.IoUring, InProcess.Settings(["check"]).Forwarder().Engine);
    }

    [Theory]
    [InlineData("io_uring", ForwardingEngine.IoUring)]
    [InlineData("uring", ForwardingEngine.IoUring)]
    [InlineData(" IO_URING ", ForwardingEngine.IoUring)]
    [InlineData("splice", ForwardingEngine.Splice)]
    [InlineData("Copy", ForwardingEngine.Copy)]
    public void EveryName_SelectsItsEngine(string name, ForwardingEngine engine)
    {
        Assert.Equal(engine, InProcess.Settings(["check", "--engine", name]).ForwardingEngine);
    }

    [Fact]
    public void Environment_SelectsTheEngine()
    {
        var settings = InProcess.Settings(["check"], new Dictionary<string, string?> { ["LITTLELB_ENGINE"] = "uring" });

        Assert.Equal(ForwardingEngine.IoUring, settings.ForwardingEngine);
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("io-uring2")]
    [InlineData("")]
    public void UnknownName_IsRefusedNamingTheKeyTheQuotedValueAndTheFlag(string name)
    {
        var loaded = InProcess.Configuration(["check", "--engine", name]);

        var problems = new DaemonSettingsValidator(loaded).Problems(DaemonSettings.From(loaded.Root));

        Assert.Equal([$"engine: '{name}' must be io_uring, splice or copy (flag --engine)"], problems);
    }

    [Theory]
    [InlineData(ForwardingEngine.IoUring, "io_uring")]
    [InlineData(ForwardingEngine.Splice, "splice")]
    [InlineData(ForwardingEngine.Copy, "copy")]
    public void EngineName_IsTheConfigurationsSpelling(ForwardingEngine engine, string name)
    {
        Assert.Equal(name, DaemonSettings.EngineName(engine));
    }
}

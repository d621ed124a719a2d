using LoadBalancer.Application.Services;

namespace LoadBalancer.Application.Tests.Services;

public sealed class ServiceAnnotationsTests
{
    [Fact]
    public void ReadSharing_NoAnnotations_IsSharedWithoutKey()
    {
        var sharing = ServiceAnnotations.ReadSharing(null);

        Assert.Equal((null, false), (sharing.SharingKey, sharing.ExclusiveIp));
        Assert.Empty(sharing.Errors);
    }

    [Fact]
    public void ReadSharing_SharingKey_IsRead()
    {
        var sharing = ServiceAnnotations.ReadSharing(new Dictionary<string, string> { ["littlelb.io/sharing-key"] = "dns" });

        Assert.Equal("dns", sharing.SharingKey);
    }

    [Fact]
    public void ReadSharing_MetalLbKeyOnly_IsAcceptedAsTheSharingKey()
    {
        var sharing = ServiceAnnotations.ReadSharing(new Dictionary<string, string> { ["metallb.universe.tf/allow-shared-ip"] = "web" });

        Assert.Equal("web", sharing.SharingKey);
    }

    [Fact]
    public void ReadSharing_BothKeys_OursWins()
    {
        var sharing = ServiceAnnotations.ReadSharing(new Dictionary<string, string>
        {
            ["metallb.universe.tf/allow-shared-ip"] = "theirs",
            ["littlelb.io/sharing-key"] = "ours",
        });

        Assert.Equal("ours", sharing.SharingKey);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("false", false)]
    public void ReadSharing_ExclusiveIp_IsParsed(string value, bool expected)
    {
        var sharing = ServiceAnnotations.ReadSharing(new Dictionary<string, string> { ["littlelb.io/exclusive-ip"] = value });

        Assert.Equal(expected, sharing.ExclusiveIp);
        Assert.Empty(sharing.Errors);
    }

    [Fact]
    public void ReadSharing_ExclusiveIpNotABoolean_IsAnErrorNamingAnnotationAndValue()
    {
        var sharing = ServiceAnnotations.ReadSharing(new Dictionary<string, string> { ["littlelb.io/exclusive-ip"] = "yes" });

        var error = Assert.Single(sharing.Errors);
        Assert.Equal("annotation littlelb.io/exclusive-ip: 'yes' must be \"true\" or \"false\"", error.Message);
        Assert.False(sharing.ExclusiveIp);
    }

    [Theory]
    [InlineData(" team-a ")]
    [InlineData("")]
    public void ReadSharing_UnusableSharingKey_IsAWarningNamingItAndTheServiceSharesAsByDefault(string key)
    {
        var sharing = ServiceAnnotations.ReadSharing(new Dictionary<string, string> { ["littlelb.io/sharing-key"] = key });

        var error = Assert.Single(sharing.Errors);
        Assert.Equal($"annotation littlelb.io/sharing-key: '{key}' must be 1-253 characters without surrounding spaces", error.Message);
        Assert.Null(sharing.SharingKey);
    }

    [Fact]
    public void ReadSharing_ExclusiveAndAKey_KeepsExclusive_AndIgnoresTheKeyWithAWarning()
    {
        var sharing = ServiceAnnotations.ReadSharing(new Dictionary<string, string>
        {
            ["littlelb.io/exclusive-ip"] = "true",
            ["metallb.universe.tf/allow-shared-ip"] = "team-a",
        });

        Assert.True(sharing.ExclusiveIp);
        Assert.Null(sharing.SharingKey);
        Assert.Equal(
            "annotation metallb.universe.tf/allow-shared-ip: 'team-a' is ignored: littlelb.io/exclusive-ip is \"true\", and an exclusive IP is never shared",
            Assert.Single(sharing.Errors).Message);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("lan", "lan")]
    [InlineData("  lan\t", "lan")]
    public void ReadPool_Value_IsTrimmed(string? value, string? expected)
    {
        var annotations = value is null ? null : new Dictionary<string, string> { ["littlelb.io/pool"] = value };

        var pool = ServiceAnnotations.ReadPool(annotations);

        Assert.Equal(expected, pool.Pool);
        Assert.Null(pool.Error);
    }

    [Fact]
    public void ReadPool_Blank_IsAnErrorAndNoPool()
    {
        var pool = ServiceAnnotations.ReadPool(new Dictionary<string, string> { ["littlelb.io/pool"] = "" });

        Assert.Null(pool.Pool);
        Assert.Equal("annotation littlelb.io/pool: '' is blank; the Service gets an IP as if it asked for no pool", pool.Error!.Message);
    }
}

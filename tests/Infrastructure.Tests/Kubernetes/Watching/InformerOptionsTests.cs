using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

public sealed class InformerOptionsTests
{
    [Fact]
    public void Defaults_AreValid_AndRetryAServerThatDoesNotAnswerAtLeastEverySecond()
    {
        var options = new InformerOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(TimeSpan.FromSeconds(1), options.UnreachableRetryCap);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxBackoff);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1000)]
    public void Validate_UnreachableRetryCapNotPositive_IsReportedWithItsValue_AlongWithEveryOtherProblem(int milliseconds)
    {
        var options = new InformerOptions { UnreachableRetryCap = TimeSpan.FromMilliseconds(milliseconds), PageSize = 0 };

        var problems = options.Validate();

        Assert.Equal(2, problems.Count);
        Assert.Contains($"UnreachableRetryCap: {TimeSpan.FromMilliseconds(milliseconds)} must be positive", problems);
        Assert.Contains(problems, p => p.StartsWith("PageSize", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_UnreachableRetryCapLongerThanMaxBackoff_IsValid()
    {
        var options = new InformerOptions { MaxBackoff = TimeSpan.FromMilliseconds(500), InitialBackoff = TimeSpan.FromMilliseconds(50) };

        Assert.Empty(options.Validate());
    }
}

using LoadBalancer.Infrastructure.Os;

namespace LoadBalancer.Infrastructure.Tests.Os;

public sealed class FileDescriptorLimitTests
{
    [Fact]
    public void Raise_FromALoweredSoftLimit_SetsItToTheHardLimit_AsGetrlimitReadsBack()
    {
        var original = FileDescriptorLimit.Current() ?? throw new InvalidOperationException("getrlimit failed");
        Assert.True(original.Hard > 4096, $"this test lowers the soft limit below the hard one ({original})");
        // Lowered only a little and given back in finally: other tests of this process run meanwhile.
        var lowered = Math.Min(original.Soft, original.Hard) - 1;
        Assert.Equal(0, FileDescriptorLimit.SetSoft(lowered));
        try
        {
            var change = FileDescriptorLimit.Raise();

            Assert.Null(change.Failure);
            Assert.Equal(lowered, change.SoftBefore);
            Assert.Equal(original.Hard, change.SoftAfter);
            Assert.Equal(original.Hard, change.Hard);
            Assert.True(change.Raised);
            Assert.Equal(new DescriptorLimits(original.Hard, original.Hard), FileDescriptorLimit.Current());
            Assert.Contains($"raised the soft limit from {lowered} to {original.Hard}", change.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            _ = FileDescriptorLimit.SetSoft(original.Soft);
        }
    }

    [Fact]
    public void Raise_AtTheHardLimitAlready_ChangesNothingAndSaysSo()
    {
        var original = FileDescriptorLimit.Current() ?? throw new InvalidOperationException("getrlimit failed");
        try
        {
            _ = FileDescriptorLimit.Raise();

            var again = FileDescriptorLimit.Raise();

            Assert.False(again.Raised);
            Assert.Equal(again.Hard, again.SoftAfter);
            Assert.EndsWith("already the hard limit", again.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            _ = FileDescriptorLimit.SetSoft(original.Soft);
        }
    }
}

using LoadBalancer.Domain.Text;

namespace LoadBalancer.Domain.Tests.Text;

public sealed class QuotedValueTests
{
    [Theory]
    [InlineData("web", "'web'")]
    [InlineData("", "''")]
    [InlineData("192.0.2.1 ", "'192.0.2.1 '")]
    [InlineData(" lead", "' lead'")]
    public void Of_ShortValue_IsQuotedSoSurroundingSpacesShow(string value, string expected)
    {
        Assert.Equal(expected, QuotedValue.Of(value));
    }

    [Fact]
    public void Of_Null_IsNone()
    {
        Assert.Equal("(none)", QuotedValue.Of(null));
    }

    [Theory]
    [InlineData("a\nb", "'a\\nb'")]
    [InlineData("a\r\n", "'a\\r\\n'")]
    [InlineData("\tx", "'\\tx'")]
    [InlineData("x\0", "'x\\0'")]
    [InlineData("\u001b[31mred", "'\\u001B[31mred'")]
    [InlineData("zero\u200bwidth", "'zero\\u200Bwidth'")]
    public void Of_ControlOrInvisibleCharacters_AreEscaped(string value, string expected)
    {
        Assert.Equal(expected, QuotedValue.Of(value));
    }

    [Fact]
    public void Of_TenKibValue_IsShortenedWithItsLength()
    {
        var value = new string('x', 10 * 1024);

        var quoted = QuotedValue.Of(value);

        Assert.Equal($"'{new string('x', 120)}…' (10240 characters)", quoted);
    }

    [Fact]
    public void Of_ValueOfExactlyTheLimit_IsNotShortened()
    {
        Assert.Equal($"'{new string('y', 5)}'", QuotedValue.Of("yyyyy", maxLength: 5));
        Assert.Equal("'yyyyy…' (6 characters)", QuotedValue.Of("yyyyyy", maxLength: 5));
    }

    [Fact]
    public void Of_CutInsideASurrogatePair_KeepsTheCharacterWhole()
    {
        // "ab" then U+1F600 (two UTF-16 units): a cut after 3 units would leave half of it.
        var quoted = QuotedValue.Of("ab\U0001F600cd", maxLength: 3);

        Assert.Equal("'ab…' (6 characters)", quoted);
    }
}

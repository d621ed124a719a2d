using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Tests.Services;

public sealed class LabelSelectorTests
{
    private static Dictionary<string, string> Labels(params string[] pairs) =>
        pairs.Select(pair => pair.Split('=')).ToDictionary(parts => parts[0], parts => parts[1]);

    [Theory]
    [InlineData("tier=frontend", true)]
    [InlineData("tier==frontend", true)]
    [InlineData("tier=backend", false)]
    [InlineData("tier!=backend", true)]
    [InlineData("tier!=frontend", false)]
    [InlineData("tier in (frontend, web)", true)]
    [InlineData("tier in (backend)", false)]
    [InlineData("tier notin (backend,db)", true)]
    [InlineData("tier notin (frontend)", false)]
    [InlineData("tier", true)]
    [InlineData("!tier", false)]
    [InlineData("!team", true)]
    [InlineData("team", false)]
    [InlineData("tier=frontend,env in (prod, staging)", true)]
    [InlineData("tier=frontend, env in (dev)", false)]
    [InlineData("app.kubernetes.io/part-of=shop", true)]
    [InlineData("", true)]
    public void Matches_EachOperator_HoldsAsInKubernetes(string text, bool expected)
    {
        var selector = LabelSelector.Parse(text);

        Assert.Equal(expected, selector.Matches(Labels("tier=frontend", "env=prod", "app.kubernetes.io/part-of=shop")));
    }

    [Theory]
    [InlineData("tier!=backend", true)]
    [InlineData("tier notin (backend)", true)]
    [InlineData("tier in (backend)", false)]
    [InlineData("tier=frontend", false)]
    [InlineData("!tier", true)]
    public void Matches_ServiceWithoutTheLabel_NegativeRequirementsHold(string text, bool expected)
    {
        Assert.Equal(expected, LabelSelector.Parse(text).Matches(null));
    }

    [Theory]
    [InlineData("tier in ()", "label selector 'tier in ()': 'tier in ()': the set of values is empty")]
    [InlineData("tier in (a", "label selector 'tier in (a': '(' without ')'")]
    [InlineData("tier)", "label selector 'tier)': ')' without '('")]
    [InlineData("tier within (a)", "label selector 'tier within (a)': 'tier within (a)': a set needs 'key in (…)' or 'key notin (…)'")]
    [InlineData("a,,b", "label selector 'a,,b': an empty requirement (two commas, or one at an end)")]
    [InlineData("=x", "label selector '=x': '=x': the label key is missing")]
    [InlineData("tier=front end", "label selector 'tier=front end': 'tier=front end': value 'front end' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")]
    [InlineData("Bad_/x=1", "label selector 'Bad_/x=1': 'Bad_/x=1': key prefix 'Bad_' must be a DNS subdomain: lower-case letters, digits, '-' and '.', at most 253 characters")]
    [InlineData("tier>3", "label selector 'tier>3': 'tier>3': '<' and '>' are not label selector operators")]
    [InlineData("tier in (a) x", "label selector 'tier in (a) x': 'tier in (a) x': nothing may follow the ')' of a set")]
    public void TryParse_BadSelector_NamesTheSelectorAndTheRequirement(string text, string expected)
    {
        Assert.False(LabelSelector.TryParse(text, out var selector, out var error));
        Assert.Null(selector);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Parse_EmptyOrBlank_MatchesEverything()
    {
        Assert.True(LabelSelector.Parse("  ").IsEverything);
        Assert.True(LabelSelector.Parse(null).Matches(null));
    }

    [Theory]
    [InlineData("pool", "pool", "")]
    [InlineData("pool=edge", "pool", "edge")]
    [InlineData("pool == edge", "pool", "edge")]
    [InlineData("pool in (edge)", "pool", "edge")]
    public void SatisfyingLabel_OfASelectorOneLabelSatisfies_IsThatLabel_AndMatches(string text, string key, string value)
    {
        var selector = LabelSelector.Parse(text);

        Assert.True(selector.TryGetSatisfyingLabel(out var foundKey, out var foundValue));
        Assert.Equal((key, value), (foundKey, foundValue));
        Assert.True(selector.Matches(new Dictionary<string, string> { [foundKey] = foundValue }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("pool=edge,zone=a")]
    [InlineData("!pool")]
    [InlineData("pool!=edge")]
    [InlineData("pool in (a,b)")]
    [InlineData("pool notin (a)")]
    public void SatisfyingLabel_OfASelectorNoSingleLabelSatisfies_IsNone(string text)
    {
        Assert.False(LabelSelector.Parse(text).TryGetSatisfyingLabel(out _, out _));
    }
}

using LoadBalancer.Infrastructure.Kubernetes.Mapping;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping;

public sealed class NodeSelectorTests
{
    public static TheoryData<string, string, bool> Cases => new()
    {
        // selector, labels as "k=v;k2=v2", matches
        { "", "", true },
        { "  ", "role=db", true },
        { "node-role.kubernetes.io/worker", "node-role.kubernetes.io/worker=", true },
        { "node-role.kubernetes.io/worker", "node-role.kubernetes.io/control-plane=", false },
        { "!node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/worker=", true },
        { "!node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/control-plane=", false },
        { "zone=a", "zone=a", true },
        { "zone==a", "zone=a", true },
        { "zone=a", "zone=b", false },
        { "zone=a", "", false },
        { "zone!=a", "zone=b", true },
        { "zone!=a", "", true },
        { "zone!=a", "zone=a", false },
        { "lb=, zone=a", "lb=;zone=a", true },
        { "lb=,zone=a", "lb=x;zone=a", false },
        { "lb, zone != a, !spot", "lb=yes;zone=b", true },
        { "lb, zone != a, !spot", "lb=yes;zone=b;spot=true", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_FollowsKubernetesEqualitySemantics(string selector, string labels, bool expected)
    {
        var parsed = NodeSelector.Parse(selector);
        var dictionary = labels.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('='))
            .ToDictionary(pair => pair[0], pair => pair[1]);

        Assert.Equal(expected, parsed.Matches(dictionary));
    }

    [Fact]
    public void Matches_NoLabelsAtAll_HoldsOnlyForAbsenceRequirements()
    {
        Assert.True(NodeSelector.Parse("!spot,zone!=a").Matches(null));
        Assert.False(NodeSelector.Parse("worker").Matches(null));
    }

    public static TheoryData<string, string> BadSelectors => new()
    {
        { "a,,b", "label selector 'a,,b': an empty requirement" },
        { "worker,", "label selector 'worker,': an empty requirement" },
        { "=x", "label selector '=x': '=x': the label key is missing" },
        { "!", "label selector '!': '!': the label key is missing" },
        { "zone in (a,b)", "label selector 'zone in (a,b)': 'zone in (a': set-based requirements (in, notin) are not supported" },
        { "Bad_Prefix/x", "label selector 'Bad_Prefix/x': 'Bad_Prefix/x': key prefix 'Bad_Prefix' must be a DNS subdomain" },
        { "-worker", "label selector '-worker': '-worker': key name '-worker' must be 1-63 letters" },
        { "zone=a b", "label selector 'zone=a b': 'zone=a b': value 'a b' must be at most 63 letters" },
        { "a/b/c", "label selector 'a/b/c': 'a/b/c': key name 'b/c' must be 1-63" },
    };

    [Theory]
    [MemberData(nameof(BadSelectors))]
    public void TryParse_BadSyntax_IsAnErrorNamingTheTextAndTheRequirement(string selector, string expectedStart)
    {
        Assert.False(NodeSelector.TryParse(selector, out var parsed, out var error));
        Assert.Null(parsed);
        Assert.StartsWith(expectedStart, error, StringComparison.Ordinal);
        var thrown = Assert.Throws<FormatException>(() => NodeSelector.Parse(selector));
        Assert.Equal(error, thrown.Message);
    }
}

using System.Reflection;
using LoadBalancer.Host.Configuration;
using Microsoft.Extensions.Configuration;

namespace LoadBalancer.Host.Tests.Configuration;

/// <summary>
/// The binding is generated at compile time (so the native forwarder binds without reflection), and the generator
/// silently skips a property it cannot set (an <c>init</c> one): every property must come through from its key.
/// </summary>
public sealed class DaemonSettingsBindingTests
{
    [Fact]
    public void EveryTextProperty_IsBoundFromItsKey()
    {
        var properties = typeof(DaemonSettings).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.PropertyType == typeof(string) && property.SetMethod is { IsPublic: true }).ToList();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(properties.Select(property => KeyValuePair.Create<string, string?>(Key(property), "value of " + property.Name)))
            .Build();

        var settings = DaemonSettings.From(configuration);

        Assert.NotEmpty(properties);
        Assert.All(properties, property => Assert.Equal("value of " + property.Name, property.GetValue(settings)));
    }

    [Fact]
    public void Sections_AreBound_LeaderElectionAndEveryFieldOfAPool()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [Settings.LeaderElectionEnabled] = "false", [Settings.LeaderElectionNamespace] = "ns", [Settings.LeaderElectionName] = "lease",
            [Settings.LeaderElectionIdentity] = "me",
            ["pools:0:name"] = "blue", ["pools:0:addresses:0"] = "10.0.0.0/30", ["pools:0:addresses:1"] = "10.0.1.0/30",
            ["pools:0:exclude:0"] = "10.0.0.1", ["pools:0:namespaces:0"] = "team", ["pools:0:serviceSelector"] = "tier=web",
            ["pools:0:autoAssign"] = "false", ["pools:1:name"] = "green",
        }).Build();

        var settings = DaemonSettings.From(configuration);

        Assert.Equal(new LeaderElectionSettings { Enabled = "false", Namespace = "ns", Name = "lease", Identity = "me" }, settings.LeaderElection);
        Assert.Equal(["blue", "green"], settings.Pools.Select(pool => pool.Name));
        var blue = settings.Pools[0];
        Assert.Equal(["10.0.0.0/30", "10.0.1.0/30"], blue.Addresses);
        Assert.Equal(["10.0.0.1"], blue.Exclude);
        Assert.Equal(["team"], blue.Namespaces);
        Assert.Equal("tier=web", blue.ServiceSelector);
        Assert.Equal("false", blue.AutoAssign);
    }

    private static string Key(PropertyInfo property) => char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
}

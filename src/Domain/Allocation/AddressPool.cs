using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Allocation;

/// <summary>
/// A named set of addresses and the Services that may use it (MetalLB's IPAddressPool): only Services of
/// <see cref="Namespaces"/> (all when empty) whose labels match <see cref="ServiceSelector"/>. A pool without
/// <see cref="AutoAssign"/> serves only Services that ask for it, by name or by an address in it.
/// </summary>
public sealed class AddressPool
{
    /// <summary>The name of the pool configured by <c>--restricted-cidr</c>.</summary>
    public const string DefaultName = "default";

    private readonly HashSet<string> _namespaces;

    public AddressPool(
        string name,
        IpPool addresses,
        IEnumerable<string>? namespaces = null,
        LabelSelector? serviceSelector = null,
        bool autoAssign = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(addresses);
        Name = name;
        Addresses = addresses;
        Namespaces = [.. (namespaces ?? []).Distinct(StringComparer.Ordinal)];
        _namespaces = new HashSet<string>(Namespaces, StringComparer.Ordinal);
        ServiceSelector = serviceSelector ?? LabelSelector.Everything;
        AutoAssign = autoAssign;
    }

    public string Name { get; }

    public IpPool Addresses { get; }

    /// <summary>Empty: every namespace.</summary>
    public IReadOnlyList<string> Namespaces { get; }

    public LabelSelector ServiceSelector { get; }

    public bool AutoAssign { get; }

    public bool Admits(ServiceKey service, IReadOnlyDictionary<string, string>? labels) =>
        (_namespaces.Count == 0 || _namespaces.Contains(service.Namespace)) && ServiceSelector.Matches(labels);

    /// <summary>
    /// Null when the pool admits the Service; else why not, as a phrase that follows the pool's name: "admits only
    /// namespaces prod, staging, not 'dev'".
    /// </summary>
    public string? WhyNotAdmitted(ServiceKey service, IReadOnlyDictionary<string, string>? labels)
    {
        if (_namespaces.Count > 0 && !_namespaces.Contains(service.Namespace))
        {
            return $"admits only namespaces {string.Join(", ", Namespaces)}, not '{service.Namespace}'";
        }

        if (!ServiceSelector.Matches(labels))
        {
            var shown = labels is null || labels.Count == 0
                ? "none"
                : string.Join(",", labels.OrderBy(label => label.Key, StringComparer.Ordinal).Select(label => $"{label.Key}={label.Value}"));
            return $"admits only Services whose labels match '{ServiceSelector}', and the labels of {service} are {shown}";
        }

        return null;
    }

    /// <summary>This pool restricted to the addresses of <paramref name="family"/>, or null when it has none.</summary>
    public AddressPool? OfFamily(IpFamily family) => Addresses.OfFamily(family) switch
    {
        null => null,
        var same when ReferenceEquals(same, Addresses) => this,
        var addresses => new AddressPool(Name, addresses, Namespaces, ServiceSelector, AutoAssign),
    };

    public override string ToString() => $"'{Name}' ({Addresses})";
}

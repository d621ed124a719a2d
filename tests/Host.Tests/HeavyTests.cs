namespace LoadBalancer.Host.Tests;

/// <summary>
/// Tests that start daemon processes or build network namespaces: one at a time, since on a small machine two of them
/// together (besides the other test assemblies) can stretch each past its bounds.
/// </summary>
[CollectionDefinition(Name)]
public sealed class HeavyTests
{
    public const string Name = "Processes and namespaces";
}

namespace LoadBalancer.Tests.Shared;

/// <summary>The checkout these tests run from: the folder above their output that holds LoadBalancer.sln.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    /// <summary>A path inside the checkout: <c>RepositoryRoot.Combine("deploy", "little-load-balancer.yaml")</c>.</summary>
    public static string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "LoadBalancer.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException("no LoadBalancer.sln above " + AppContext.BaseDirectory);
    }
}

using System.Text;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// Checks a Services file without touching the network: it is read as the standalone mode reads it, and each Service is
/// validated as the allocation request would validate it. Every problem is returned at once, each with the file, the
/// line, the field and the value (<c>loadbalancer check</c>).
/// </summary>
public static class ServiceFileCheck
{
    public static IReadOnlyList<ServiceFileProblem> Check(string path, StandaloneFileOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            return [Unreadable(path, path, failure)];
        }

        var file = StandaloneServiceFile.Parse(Decode(content), options, path);
        return [.. file.Problems, .. file.ServiceProblems];
    }

    /// <summary>
    /// Why a file cannot be read, in the shell's words. .NET says "Access to the path is denied" for a directory, and
    /// "Could not find a part of the path" for a missing directory on the way.
    /// </summary>
    /// <param name="file">The file as the operator named it.</param>
    /// <param name="fullPath">Where it was looked for.</param>
    internal static ServiceFileProblem Unreadable(string file, string fullPath, Exception failure)
    {
        var reason = failure switch
        {
            _ when Directory.Exists(fullPath) => "is a directory; name the YAML file in it",
            FileNotFoundException or DirectoryNotFoundException => "no such file",
            UnauthorizedAccessException => "permission denied",
            _ => $"cannot be read: {failure.Message}",
        };
        return new ServiceFileProblem(file, null, string.Empty, null, reason);
    }

    /// <summary>UTF-8, as YAML is; a byte-order mark is dropped.</summary>
    internal static string Decode(byte[] content) => new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetString(content).TrimStart('\uFEFF');
}

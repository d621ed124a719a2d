using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Standalone.State;

/// <summary>
/// Replaces a file so that a crash at any moment leaves the old content or the new one, never a mix or nothing: a
/// temporary file beside it, fsync, rename over it, fsync of the directory.
/// </summary>
internal sealed class DurableFile(string path)
{
    private const UnixFileMode FileMode0644 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    // open(2) flags, the same on every Linux architecture (O_DIRECTORY is not, hence left out: the path is the
    // directory this class just wrote into).
    private const int OpenReadOnly = 0;
    private const int OpenCloseOnExec = 0x80000;
    private const int InvalidArgument = 22;

    private readonly string _directory = System.IO.Path.GetDirectoryName(path)!;
    private readonly string _temporaryPath = path + ".tmp";

    public string Path => path;

    /// <summary>Writes the new content with <paramref name="write"/> and puts it in place.</summary>
    /// <exception cref="IOException">It could not be written; the old content stays, and no temporary file is left.</exception>
    /// <param name="temporaryLeft">Told when the temporary file of a failed write could not be removed either.</param>
    public void Replace(Action<Stream> write, Action<string, string> temporaryLeft)
    {
        ArgumentNullException.ThrowIfNull(write);
        try
        {
            Directory.CreateDirectory(_directory);
            var options = new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                Share = FileShare.None,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = FileMode0644;
            }

            using (var stream = new FileStream(_temporaryPath, options))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            // rename(2): a reader, or a crash, sees the old file or the new one, never a half-written one.
            File.Move(_temporaryPath, path, overwrite: true);
            SyncDirectory(_directory);
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            RemoveTemporaryFile(temporaryLeft);
            throw new IOException($"cannot write the state file '{path}': {failure.Message}", failure);
        }
    }

    /// <summary>
    /// Renames the file (or a directory in its place) to <c>PATH.unreadable-STAMP</c>, never over anything: what an
    /// operator may still want is kept.
    /// </summary>
    /// <returns>The name it has now.</returns>
    /// <exception cref="IOException">It could not be moved.</exception>
    public string MoveAside(DateTimeOffset now)
    {
        var stamp = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var keptAs = $"{path}.unreadable-{stamp}";
        for (var counter = 2; File.Exists(keptAs) || Directory.Exists(keptAs); counter++)
        {
            keptAs = $"{path}.unreadable-{stamp}-{counter}";
        }

        if (Directory.Exists(path))
        {
            Directory.Move(path, keptAs);
        }
        else
        {
            File.Move(path, keptAs, overwrite: false);
        }

        return keptAs;
    }

    /// <summary>A rename is durable only once the directory holding it is synced.</summary>
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var descriptor = Libc.open(directory, OpenReadOnly | OpenCloseOnExec);
        if (descriptor < 0)
        {
            throw new IOException($"cannot open the directory '{directory}' to sync it: {Marshal.GetPInvokeErrorMessage(Libc.LastError)}");
        }

        try
        {
            // EINVAL: the file system cannot sync a directory (some FUSE and network ones). The rename stands, as
            // durable as that file system makes it.
            if (Libc.fsync(descriptor) != 0 && Libc.LastError is var error && error != InvalidArgument)
            {
                throw new IOException($"cannot sync the directory '{directory}': {Marshal.GetPInvokeErrorMessage(error)}");
            }
        }
        finally
        {
            Libc.close(descriptor);
        }
    }

    private void RemoveTemporaryFile(Action<string, string> temporaryLeft)
    {
        try
        {
            if (File.Exists(_temporaryPath))
            {
                File.Delete(_temporaryPath);
            }
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            temporaryLeft(_temporaryPath, failure.Message);
        }
    }
}

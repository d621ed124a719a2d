using System.Globalization;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// One mistake in a Services file, in the operator's words: where it is, which field as a manifest writes it
/// (<c>spec.ports[0].port</c>, <c>metadata.annotations["littlelb.io/backends"]</c>), and what is wrong with the value
/// given. <c>loadbalancer check</c> and the standalone mode print the same text.
/// </summary>
/// <param name="File">The file as the operator named it.</param>
/// <param name="Line">The line in the whole file (1-based); null when the problem is the file itself (a directory, missing).</param>
/// <param name="Field">The field's path; empty when the problem is not one field's (a YAML syntax error, an unreadable file).</param>
/// <param name="Value">The value written, when there is one.</param>
/// <param name="Message">What is wrong; it quotes the value (<see cref="Domain.Text.QuotedValue"/>).</param>
public sealed record ServiceFileProblem(string File, int? Line, string Field, string? Value, string Message)
{
    /// <summary><c>FILE:LINE: FIELD: MESSAGE</c>, the form compilers use, so that editors can jump to the line.</summary>
    public override string ToString()
    {
        var where = Line is { } line ? $"{File}:{line.ToString(CultureInfo.InvariantCulture)}" : File;
        return Field.Length == 0 ? $"{where}: {Message}" : $"{where}: {Field}: {Message}";
    }
}

using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Infrastructure.Forwarding.Filtering;

/// <summary>One classic BPF instruction, laid out as the kernel's <c>struct sock_filter</c> (8 bytes).</summary>
internal readonly record struct BpfInstruction(ushort Code, byte JumpTrue, byte JumpFalse, uint K)
{
    public override string ToString() => $"{{ 0x{Code:x2}, {JumpTrue}, {JumpFalse}, 0x{K:x8} }}";
}

/// <summary>
/// Writes the classic BPF socket filter that keeps packets whose source address is in the given ranges and drops the
/// rest. A TCP or UDP socket's filter sees the packet with its data at the transport header, so the IP header is read
/// through the kernel's <c>SKF_NET_OFF</c> window; the version nibble picks the IPv4 or IPv6 part, which also serves an
/// IPv6 socket that receives IPv4 packets (dual stack: they arrive with an IPv4 header, not a mapped address).
/// </summary>
internal static class SourceRangeProgram
{
    /// <summary>The kernel's BPF_MAXINSNS.</summary>
    public const int MaxInstructions = 4096;

    /// <summary>Returned to keep the whole packet (a filter's return value is how many bytes to keep).</summary>
    public const uint Keep = uint.MaxValue;

    public const uint Drop = 0;

    // linux/filter.h: classes, sizes, modes, operations, sources.
    internal const ushort BPF_LD = 0x00;
    internal const ushort BPF_ALU = 0x04;
    internal const ushort BPF_JMP = 0x05;
    internal const ushort BPF_RET = 0x06;
    internal const ushort BPF_W = 0x00;
    internal const ushort BPF_B = 0x10;
    internal const ushort BPF_ABS = 0x20;
    internal const ushort BPF_AND = 0x50;
    internal const ushort BPF_JA = 0x00;
    internal const ushort BPF_JEQ = 0x10;
    internal const ushort BPF_K = 0x00;

    /// <summary>SKF_NET_OFF (-0x100000): offsets from the network header rather than from the socket's data.</summary>
    internal const uint NetOffset = 0xFFF00000;

    private const uint Ipv4Source = 12;
    private const uint Ipv6Source = 8;

    /// <summary>The program for <paramref name="ranges"/>; empty ranges have no program (every client is let in).</summary>
    /// <exception cref="ArgumentException">More ranges than a program can hold (validation allows far fewer).</exception>
    public static BpfInstruction[] For(IReadOnlyList<IpCidr> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        if (ranges.Count == 0)
        {
            return [];
        }

        var v4 = new List<BpfInstruction>();
        foreach (var range in ranges.Where(range => !range.IsV6).Distinct())
        {
            // A = source address; A &= mask; if A == network return Keep, else go on to the next range.
            v4.Add(Load(BPF_W, NetOffset + Ipv4Source));
            v4.Add(new BpfInstruction(BPF_ALU | BPF_AND | BPF_K, 0, 0, (uint)range.Mask));
            v4.Add(new BpfInstruction(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint)range.NetworkValue));
            v4.Add(Return(Keep));
        }

        v4.Add(Return(Drop));

        var v6 = new List<BpfInstruction>();
        foreach (var range in ranges.Where(range => range.IsV6).Distinct())
        {
            // The address is compared 32 bits at a time; words the prefix does not reach are not compared, and a word
            // that differs skips the rest of this range (jumps are short: at most 13 instructions per range).
            var words = new List<(uint Offset, uint Mask, uint Network)>();
            for (var word = 0; word < 4; word++)
            {
                var shift = 96 - (32 * word);
                var mask = (uint)(range.Mask >> shift);
                if (mask != 0)
                {
                    words.Add((NetOffset + Ipv6Source + (uint)(4 * word), mask, (uint)(range.NetworkValue >> shift)));
                }
            }

            for (var i = 0; i < words.Count; i++)
            {
                var left = words.Count - 1 - i;
                v6.Add(Load(BPF_W, words[i].Offset));
                v6.Add(new BpfInstruction(BPF_ALU | BPF_AND | BPF_K, 0, 0, words[i].Mask));

                // On a mismatch skip the remaining words (3 instructions each) and this range's Keep.
                v6.Add(new BpfInstruction(BPF_JMP | BPF_JEQ | BPF_K, 0, (byte)((3 * left) + 1), words[i].Network));
            }

            v6.Add(Return(Keep));
        }

        v6.Add(Return(Drop));

        // A = first byte of the IP header; A &= 0xf0; 0x40: IPv4 part, which follows; 0x60: the IPv6 part, reached by an
        // unconditional jump, whose 32-bit offset has no limit where a conditional jump's 8 bits reach 255; else Drop.
        var program = new List<BpfInstruction>(v4.Count + v6.Count + 6)
        {
            Load(BPF_B, NetOffset),
            new(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xF0),
            new(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 0x40),
            new(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0x60),
            Return(Drop),
            new(BPF_JMP | BPF_JA, 0, 0, (uint)v4.Count),
        };

        program.AddRange(v4);
        program.AddRange(v6);
        if (program.Count > MaxInstructions)
        {
            throw new ArgumentException($"{ranges.Count} source ranges need {program.Count} filter instructions; the kernel takes at most {MaxInstructions}", nameof(ranges));
        }

        return [.. program];
    }

    /// <summary>
    /// Runs <paramref name="program"/> on an IP header as the kernel would (only the instructions this class writes), so
    /// the tests can check the program's answers without a kernel.
    /// </summary>
    internal static uint Run(ReadOnlySpan<BpfInstruction> program, ReadOnlySpan<byte> ipHeader)
    {
        uint a = 0;
        var pc = 0;
        for (var steps = 0; steps <= program.Length && pc < program.Length; steps++)
        {
            var instruction = program[pc];
            switch (instruction.Code)
            {
                case BPF_LD | BPF_B | BPF_ABS:
                    a = ipHeader[(int)(instruction.K - NetOffset)];
                    pc++;
                    break;
                case BPF_LD | BPF_W | BPF_ABS:
                    a = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(ipHeader[(int)(instruction.K - NetOffset)..]);
                    pc++;
                    break;
                case BPF_ALU | BPF_AND | BPF_K:
                    a &= instruction.K;
                    pc++;
                    break;
                case BPF_JMP | BPF_JEQ | BPF_K:
                    pc += 1 + (a == instruction.K ? instruction.JumpTrue : instruction.JumpFalse);
                    break;
                case BPF_JMP | BPF_JA:
                    pc += 1 + (int)instruction.K;
                    break;
                case BPF_RET | BPF_K:
                    return instruction.K;
                default:
                    throw new InvalidOperationException($"instruction {instruction} at {pc} is not one this program writes");
            }
        }

        throw new InvalidOperationException("the program ran off its end");
    }

    private static BpfInstruction Load(ushort size, uint offset) => new((ushort)(BPF_LD | size | BPF_ABS), 0, 0, offset);

    private static BpfInstruction Return(uint value) => new(BPF_RET | BPF_K, 0, 0, value);
}

using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Infrastructure.Forwarding.Filtering;
using static LoadBalancer.Infrastructure.Forwarding.Filtering.SourceRangeProgram;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Filtering;

public sealed class SourceRangeProgramTests
{
    private const uint Net = NetOffset;

    [Fact]
    public void OneIpv4Range_IsTheVersionDispatchThenOneMaskedCompare()
    {
        var program = For([IpCidr.Parse("10.0.0.0/8")]);

        BpfInstruction[] expected =
        [
            new(BPF_LD | BPF_B | BPF_ABS, 0, 0, Net),               // 0: A = first byte of the IP header
            new(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xF0),             // 1: A &= 0xf0 (the version)
            new(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 0x40),             // 2: IPv4: to 6
            new(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0x60),             // 3: IPv6: to 5
            new(BPF_RET | BPF_K, 0, 0, Drop),                       // 4: neither
            new(BPF_JMP | BPF_JA, 0, 0, 5),                         // 5: over the IPv4 part to 11
            new(BPF_LD | BPF_W | BPF_ABS, 0, 0, Net + 12),          // 6: A = IPv4 source
            new(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xFF000000),       // 7: /8
            new(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0x0A000000),       // 8: 10.0.0.0?
            new(BPF_RET | BPF_K, 0, 0, Keep),                       // 9
            new(BPF_RET | BPF_K, 0, 0, Drop),                       // 10: no IPv4 range matched
            new(BPF_RET | BPF_K, 0, 0, Drop),                       // 11: no IPv6 range (there is none)
        ];
        Assert.Equal(expected, program);
    }

    [Fact]
    public void Ipv6Range_ComparesOnlyTheWordsThePrefixReaches()
    {
        var program = For([IpCidr.Parse("2001:db8:1::/48")]);

        // After the dispatch (5 instructions), the jump over the IPv4 part (just its Drop) and that Drop: two words.
        BpfInstruction[] v6 =
        [
            new(BPF_LD | BPF_W | BPF_ABS, 0, 0, Net + 8),
            new(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xFFFFFFFF),
            new(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, 0x20010DB8),       // mismatch: over word 2 and the Keep
            new(BPF_LD | BPF_W | BPF_ABS, 0, 0, Net + 12),
            new(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xFFFF0000),
            new(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0x00010000),
            new(BPF_RET | BPF_K, 0, 0, Keep),
            new(BPF_RET | BPF_K, 0, 0, Drop),
        ];
        Assert.Equal(new BpfInstruction(BPF_JMP | BPF_JA, 0, 0, 1), program[5]);
        Assert.Equal(v6, program[7..]);
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("10.255.255.255", true)]
    [InlineData("11.0.0.1", false)]
    [InlineData("192.168.7.9", true)]
    [InlineData("192.168.8.1", false)]
    [InlineData("127.0.0.140", true)]
    [InlineData("127.0.0.141", false)]
    [InlineData("2001:db8:1::5", true)]
    [InlineData("2001:db8:1:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("2001:db8:2::5", false)]
    [InlineData("::1", false)]
    [InlineData("fe80::1", true)]
    public void Program_KeepsExactlyTheSourcesInTheRanges(string source, bool kept)
    {
        var program = For(Ranges("10.0.0.0/8", "192.168.0.0/21", "127.0.0.140/32", "2001:db8:1::/48", "fe80::/10"));

        Assert.Equal(kept ? Keep : Drop, Run(program, Header(IPAddress.Parse(source))));
    }

    [Fact]
    public void OnlyIpv6Ranges_DropEveryIpv4Source_AndTheOtherWayRound()
    {
        Assert.Equal(Drop, Run(For(Ranges("::/0")), Header(IPAddress.Parse("10.0.0.1"))));
        Assert.Equal(Keep, Run(For(Ranges("::/0")), Header(IPAddress.Parse("2001:db8::1"))));
        Assert.Equal(Drop, Run(For(Ranges("0.0.0.0/0")), Header(IPAddress.Parse("2001:db8::1"))));
        Assert.Equal(Keep, Run(For(Ranges("0.0.0.0/0")), Header(IPAddress.Parse("203.0.113.9"))));
    }

    [Fact]
    public void ManyIpv4Ranges_TheIpv6PartIsStillReached_ThroughTheLongJump()
    {
        // 256 IPv4 ranges are over 1000 instructions: further than a conditional jump's 255 reaches.
        var ranges = Enumerable.Range(0, 256).Select(i => $"10.{i}.0.0/16").Append("2001:db8::/32").ToArray();
        var program = For(Ranges(ranges));

        Assert.True(program.Length > 1000);
        Assert.Equal(Keep, Run(program, Header(IPAddress.Parse("2001:db8::7"))));
        Assert.Equal(Keep, Run(program, Header(IPAddress.Parse("10.255.3.4"))));
        Assert.Equal(Drop, Run(program, Header(IPAddress.Parse("11.0.3.4"))));
    }

    [Fact]
    public void NoRanges_NoProgram()
    {
        Assert.Empty(For([]));
    }

    [Fact]
    public void MoreThanTheKernelTakes_IsRefusedWithTheCount()
    {
        var ranges = Enumerable.Range(0, 400).Select(i => $"2001:db8:{i:x}::1/128").ToArray();

        var refused = Assert.Throws<ArgumentException>(() => For(Ranges(ranges)));
        Assert.StartsWith("400 source ranges need", refused.Message, StringComparison.Ordinal);
    }

    private static IpCidr[] Ranges(params string[] ranges) => [.. ranges.Select(IpCidr.Parse)];

    /// <summary>An IPv4 (20 bytes) or IPv6 (40 bytes) header with the version and the source address set.</summary>
    private static byte[] Header(IPAddress source)
    {
        var address = source.GetAddressBytes();
        if (address.Length == 4)
        {
            var v4 = new byte[20];
            v4[0] = 0x45;
            address.CopyTo(v4, 12);
            return v4;
        }

        var v6 = new byte[40];
        v6[0] = 0x60;
        address.CopyTo(v6, 8);
        return v6;
    }
}

using System.Net.Sockets;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>
/// SO_REUSEADDR alone on a listening socket: a restarted daemon binds while old connections sit in TIME_WAIT, and a live
/// listener on the same IP:port still refuses the bind.
/// </summary>
/// <remarks>
/// .NET's <c>SocketOptionName.ReuseAddress</c> also sets SO_REUSEPORT on Linux, which lets a second process (a leftover
/// daemon, or any program that sets it) bind the same IP:port and receive a share of the connections in silence. The
/// option is therefore set through its raw level and number.
/// </remarks>
internal static class AddressReuse
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    public static void Enable(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        }
        else
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }
    }
}

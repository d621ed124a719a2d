#!/usr/bin/env python3
"""bench/idle_conns.py: the two ends of bench/memory.sh's idle-connection test, each its own process.

  idle_conns.py backend HOST:PORT READY_FILE
      Accepts any number of connections; echoes the first byte of each back, then holds the connection open,
      reading (and dropping) anything more until the peer closes. Writes READY_FILE once it listens.

  idle_conns.py client HOST:PORT COUNT STATUS_FILE [--batch N] [--timeout S] [--hold]
      Opens up to COUNT connections to HOST:PORT in batches of N (default 250) at once. A connection counts as
      established when the one byte it sends comes back, which proves both the client side and the backend side of
      the forwarder are up. A batch in which some connections fail (refused by the forwarder's connection budget,
      reset, or no echo within S seconds, default 10) ends the opening: the count that made it is the result.
      Writes "established=K failed=F seconds=T first_error=..." to STATUS_FILE; with --hold it then keeps the K
      connections open until SIGTERM/SIGINT, else it closes them and exits.

Both raise their soft RLIMIT_NOFILE to the hard limit first. Only the standard library is used.
"""
import asyncio
import resource
import signal
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def split_address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


async def backend(address, ready_file):
    held = set()

    async def serve(reader, writer):
        held.add(writer)
        try:
            first = await reader.read(1)
            if first:
                writer.write(first)
                await writer.drain()
                while await reader.read(65536):
                    pass
        except (ConnectionError, OSError):
            pass
        finally:
            held.discard(writer)
            writer.close()

    host, port = split_address(address)
    server = await asyncio.start_server(serve, host, port, backlog=4096, reuse_address=True)
    with open(ready_file, "w") as ready:
        ready.write("listening\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


async def client(address, count, status_file, batch, timeout, hold):
    host, port = split_address(address)
    writers = []
    failed = 0
    first_error = ""
    started = time.monotonic()

    async def open_one():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(b"x")
            await writer.drain()
            echoed = await reader.readexactly(1)
            if echoed != b"x":
                raise ConnectionError("wrong echo %r" % echoed)
        except BaseException:
            writer.close()
            raise
        return writer

    while len(writers) < count:
        size = min(batch, count - len(writers))
        results = await asyncio.gather(
            *(asyncio.wait_for(open_one(), timeout) for _ in range(size)), return_exceptions=True)
        batch_failed = 0
        for result in results:
            if isinstance(result, BaseException):
                batch_failed += 1
                if not first_error:
                    first_error = "%s: %s" % (type(result).__name__, result)
            else:
                writers.append(result)
        if batch_failed:
            failed += batch_failed
            break

    with open(status_file, "w") as status:
        status.write("established=%d failed=%d seconds=%.1f first_error=%s\n" % (
            len(writers), failed, time.monotonic() - started, first_error.replace("\n", " ")))

    if hold:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    for writer in writers:
        writer.close()


def main(argv):
    raise_nofile()
    if len(argv) >= 3 and argv[0] == "backend":
        asyncio.run(backend(argv[1], argv[2]))
        return 0
    if len(argv) >= 4 and argv[0] == "client":
        batch, timeout, hold = 250, 10.0, False
        rest = argv[4:]
        while rest:
            if rest[0] == "--batch":
                batch, rest = int(rest[1]), rest[2:]
            elif rest[0] == "--timeout":
                timeout, rest = float(rest[1]), rest[2:]
            elif rest[0] == "--hold":
                hold, rest = True, rest[1:]
            else:
                print("unknown argument: %s" % rest[0], file=sys.stderr)
                return 2
        asyncio.run(client(argv[1], int(argv[2]), argv[3], batch, timeout, hold))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

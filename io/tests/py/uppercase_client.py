"""A CPython asyncio client for ravel-io's python_client test.

Usage: python3 uppercase_client.py HOST PORT
Talks to an uppercase line server: sends lines, reads the replies, then
half-closes and reads until EOF. Prints one line per check.
"""
import asyncio
import sys


async def main(host, port):
    reader, writer = await asyncio.open_connection(host, port)
    for msg in (b"hello\n", b"ravel streams\n"):
        writer.write(msg)
        await writer.drain()
        print("reply", await reader.readline())
    big = b"x" * 200_000 + b"\n"
    writer.write(big)
    await writer.drain()
    reply = await reader.readexactly(len(big))
    print("big", len(reply), reply == big.upper())
    writer.write(b"split ")
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(b"line\n")
    print("reply", await reader.readuntil(b"\n"))
    writer.write_eof()
    print("after eof", await reader.read())
    print("at_eof", reader.at_eof())
    writer.close()
    await writer.wait_closed()
    print("done")


asyncio.run(main(sys.argv[1], int(sys.argv[2])))

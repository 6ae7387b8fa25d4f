"""The Python end of pipes' interop tests (python_interop_test.cpp). Standard library only.

Usage: python_peer.py MODE IN_FD OUT_FD [ARG]

Both descriptors are inherited from the C++ test and wrapped in
multiprocessing.connection.Connection, exactly as a Python program would wrap a pipe it was given.
When IN_FD and OUT_FD are the same descriptor it is one socket for both directions, wrapped once,
as the default multiprocessing.Pipe() (duplex) gives it.

Modes:
  echo      answers every message with its bytes reversed (send_bytes of recv_bytes); exits 0
            when recv_bytes raises EOFError, i.e. once the C++ side has closed its end.
  generate  sends ARG messages of sizes 0, 1, 2, ... (message i is pattern(i, i)), then exits:
            the C++ side then sees the end of the stream between messages.
  truncate  writes a header announcing 1 MiB and then only 10 bytes, and dies (os._exit): the
            C++ side sees the stream end inside a message.

Exit status: 0 as described, 3 on anything unexpected (with a message on stderr). An alarm ends
the process after 60 s, so a test that goes wrong fails instead of hanging.
"""
import os
import signal
import struct
import sys
from multiprocessing.connection import Connection


def pattern(size: int, seed: int) -> bytes:
    """Byte j is (j + seed) % 251: cheap for any size, and the C++ side regenerates it."""
    base = bytes(range(251))
    start = seed % 251
    rotated = base[start:] + base[:start]
    return (rotated * (size // 251 + 1))[:size]


def echo(inbox: Connection, outbox: Connection) -> int:
    while True:
        try:
            message = inbox.recv_bytes()
        except EOFError:
            return 0
        outbox.send_bytes(message[::-1])


def generate(outbox: Connection, count: int) -> int:
    for i in range(count):
        outbox.send_bytes(pattern(i, i))
    outbox.close()
    return 0


def truncate(out_fd: int) -> int:
    announced = 1 << 20
    os.write(out_fd, struct.pack("!i", announced) + b"0123456789")
    os._exit(0)  # dies mid-message, as a crashed writer would


def main(argv) -> int:
    signal.alarm(60)
    mode, in_fd, out_fd = argv[1], int(argv[2]), int(argv[3])
    if in_fd == out_fd:
        inbox = outbox = Connection(in_fd)
    else:
        inbox = Connection(in_fd, writable=False)
        outbox = Connection(out_fd, readable=False)
    if mode == "echo":
        return echo(inbox, outbox)
    if mode == "generate":
        return generate(outbox, int(argv[4]))
    if mode == "truncate":
        return truncate(out_fd)
    print(f"python_peer.py: unknown mode {mode!r}", file=sys.stderr)
    return 3


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as error:  # noqa: BLE001 - report anything, with a distinct status
        print(f"python_peer.py: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(3)

"""What the tunedpipe tests share: the message sizes, their payloads, and the functions other
processes run (importable by name, as spawn and forkserver children need)."""
import concurrent.futures
import functools
import random

# Every size class of the library: empty, the receive scratch buffer's edges (4 KiB), Python's
# single-write limit (16 KiB), read-ahead's 64 KiB, a pipe's capacity, and far beyond it.
SIZES = [0, 1, 4095, 4096, 4097, 16384, 16385, 65537, 1 << 20, 64 << 20]


@functools.lru_cache(maxsize=None)
def payload(size: int) -> bytes:
    """Pseudo-random bytes, a different stream per size (a mixed-up message cannot match)."""
    return random.Random(size).randbytes(size)


def echo(incoming, outgoing=None, objects=False, others=()) -> None:
    """Sends every message (with `objects`, every object) back until the peer closes: on one
    duplex connection, or from `incoming` to `outgoing` (any Connection type). `others` are the
    parent's ends, which a forked child inherits: closed first, or the parent's close would
    not be an end of file here."""
    for end in others:
        end.close()
    outgoing = outgoing or incoming
    receive, send = ((incoming.recv, outgoing.send) if objects
                     else (incoming.recv_bytes, outgoing.send_bytes))
    with incoming, outgoing:
        while True:
            try:
                message = receive()
            except EOFError:
                return
            send(message)


def echo_what_arrives(control) -> None:
    """Receives a connection over `control` (a process already running), and echoes on it."""
    echo(control.recv())


def in_thread(function, *args) -> concurrent.futures.Future:
    """Runs function(*args) in a thread of its own; result() waits and re-raises its error."""
    executor = concurrent.futures.ThreadPoolExecutor(1)
    try:
        return executor.submit(function, *args)
    finally:
        executor.shutdown(wait=False)

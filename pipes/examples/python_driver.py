#!/usr/bin/env python3
"""Hands a hot path from Python to C++ without changing the protocol.

The Python side is ordinary multiprocessing code: two one-way pipes from
multiprocessing.Pipe(duplex=False), send_bytes to ask, recv_bytes to get the answer. The worker
on the other end is a C++ program (python_worker.cpp) using the pipes library, which speaks the
same wire format; it is started with subprocess.Popen and finds its two descriptors on its
command line (pass_fds makes exactly those two inheritable).

Usage: python_driver.py PATH/TO/python_worker     (standard library only; exits 0 when all is well)
"""
import multiprocessing
import os
import random
import subprocess
import sys
import time
import zlib


def start_worker(path):
    """Starts the worker; returns (process, connection to send on, connection to receive on)."""
    to_worker_read, to_worker = multiprocessing.Pipe(duplex=False)  # (receiving end, sending end)
    from_worker, from_worker_write = multiprocessing.Pipe(duplex=False)
    theirs = (to_worker_read.fileno(), from_worker_write.fileno())
    process = subprocess.Popen(
        [path, "--read-fd", str(theirs[0]), "--write-fd", str(theirs[1])], pass_fds=theirs)
    to_worker_read.close()  # the worker has its own copies; ours would hide its death
    from_worker_write.close()
    return process, to_worker, from_worker


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    process, to_worker, from_worker = start_worker(argv[1])
    rng = random.Random(2024)
    failures = 0
    moved = 0
    started = time.perf_counter()
    for size in (0, 1, 100, 16383, 16384, 16385, 1 << 16, 1 << 20, 16 << 20):
        data = rng.randbytes(size)
        expected = {b"c": zlib.crc32(data).to_bytes(4, "big"),
                    b"r": data[::-1],
                    b"x": bytes(b ^ 0x5A for b in data) if size <= 1 << 16 else None}
        for op, answer in expected.items():
            to_worker.send_bytes(op + data)
            reply = from_worker.recv_bytes()
            moved += size + len(reply)
            if op == b"x" and answer is None:  # too slow to compute in pure Python: spot-check
                ok = len(reply) == size and all(reply[i] == data[i] ^ 0x5A
                                                for i in range(0, size, 4093))
            else:
                ok = reply == answer
            if not ok:
                failures += 1
                print(f"{op.decode()} of {size} bytes: wrong answer", file=sys.stderr)
    elapsed = time.perf_counter() - started
    to_worker.close()  # the worker sees the end of the stream and exits 0
    status = process.wait(timeout=30)
    from_worker.close()
    print(f"{moved / elapsed / 1e6:.0f} MB/s through the C++ worker, "
          f"worker exit status {status}")
    ok = failures == 0 and status == 0
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The GIL is released while a call blocks, and a connection refuses what pipes' threading rules
forbid (two receivers at once, closing while in use) instead of corrupting memory."""
import errno
import multiprocessing
import os
import platform
import select
import threading
import time
import unittest

import tunedpipe
from support import in_thread

# x86_64 system call numbers a receive may sleep in: read, poll, readv, ppoll.
SLEEPING_CALLS = {0, 7, 19, 271}


def wait_until_sleeping_in_a_receive(thread: threading.Thread) -> None:
    """Returns once `thread` sleeps in read or poll (not on the GIL, a futex), as
    /proc/self/task/<tid>/syscall says. The caller runs Python meanwhile, so it holds the GIL."""
    path = f"/proc/self/task/{thread.native_id}/syscall"
    give_up = time.monotonic() + 10
    while time.monotonic() < give_up:
        with open(path) as f:
            call = f.read().split()[0]
        if call.isdigit() and int(call) in SLEEPING_CALLS:
            return
        time.sleep(0.001)
    raise AssertionError(f"thread {thread.native_id} never slept in a receive")


def send_when_told(go_fd: int, conn) -> None:
    """In a child: sends b"released" when told to within 10 s, b"held" otherwise."""
    told = select.select([go_fd], [], [], 10)[0]
    conn.send_bytes(b"released" if told else b"held")


@unittest.skipUnless(platform.machine() == "x86_64", "system call numbers are x86_64's")
class GilReleased(unittest.TestCase):
    def test_python_runs_while_another_thread_blocks_in_recv(self):
        # The blocked thread's message comes from a child that sends b"released" only when this
        # thread, running Python while the other sleeps in the receive, tells it to. Were the
        # GIL held, this thread could not run: the child would give up and send b"held".
        go_read, go_write = os.pipe()
        a, b = tunedpipe.Pipe()
        child = multiprocessing.get_context("fork").Process(target=send_when_told,
                                                            args=(go_read, b))
        child.start()
        b.close()
        receiving = threading.Thread(target=lambda: received.append(a.recv_bytes()))
        received = []
        receiving.start()
        wait_until_sleeping_in_a_receive(receiving)
        os.write(go_write, b"go")
        receiving.join()
        child.join()
        self.assertEqual(received, [b"released"])
        for fd in (go_read, go_write):
            os.close(fd)
        a.close()


@unittest.skipUnless(platform.machine() == "x86_64", "system call numbers are x86_64's")
class OneReceiverAtATime(unittest.TestCase):
    def test_a_second_receiver_and_a_close_are_refused_while_one_receives(self):
        a, b = tunedpipe.Pipe()
        receiving = threading.Thread(target=lambda: received.append(a.recv_bytes()))
        received = []
        receiving.start()
        wait_until_sleeping_in_a_receive(receiving)
        for call in (a.recv_bytes, a.poll, a.close, a.detach):
            with self.assertRaises(OSError) as caught:
                call()
            self.assertEqual(caught.exception.errno, errno.EBUSY)
        # Sending is the other direction: allowed meanwhile.
        a.send_bytes(b"to b")
        self.assertEqual(b.recv_bytes(), b"to b")
        b.send_bytes(b"to a")
        receiving.join()
        self.assertEqual(received, [b"to a"])
        a.close()
        b.close()

    def test_sender_and_receiver_threads_stream_together(self):
        a, b = tunedpipe.Pipe()
        with a, b:
            messages = [bytes([i]) * (i * 997) for i in range(200)]
            sent = in_thread(lambda: [a.send_bytes(m) for m in messages])
            self.assertEqual([b.recv_bytes() for _ in messages], messages)
            sent.result()


if __name__ == "__main__":
    unittest.main()

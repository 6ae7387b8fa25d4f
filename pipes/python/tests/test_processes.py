"""tunedpipe between processes: passed to a multiprocessing.Process under every start method and
to a process already running; Python's own Connection or a C++ pipes program on the other end,
every size both ways; a peer killed mid-conversation."""
import array
import errno
import fcntl
import multiprocessing
import multiprocessing.connection
import multiprocessing.reduction
import os
import pickle
import signal
import subprocess
import termios
import threading
import time
import unittest

import tunedpipe
from support import SIZES, echo, echo_what_arrives, payload

PROCESS_SIZES = [0, 1, 65537, 1 << 20, 16 << 20]


class Exchanges(unittest.TestCase):
    def exchange(self, outgoing, incoming, sizes):
        """Sends each size to an echoing peer and checks what comes back."""
        for size in sizes:
            outgoing.send_bytes(payload(size))
            self.assertEqual(incoming.recv_bytes(), payload(size), f"{size} bytes")

    def finish(self, child) -> None:
        child.join(10)
        self.assertEqual(child.exitcode, 0)


class StartMethods(Exchanges):
    def test_a_process_gets_connections_as_arguments_under_every_start_method(self):
        for method in ("fork", "spawn", "forkserver"):
            with self.subTest(method):
                context = multiprocessing.get_context(method)
                # A duplex end (two descriptors), and one-way ends with oob on (one each).
                ours, theirs = tunedpipe.Pipe()
                forward_in, forward_out = tunedpipe.Pipe(duplex=False, oob=True)
                back_in, back_out = tunedpipe.Pipe(duplex=False, oob=True)
                mine = (ours, forward_out, back_in)
                children = [context.Process(target=echo, args=(theirs, None, False, mine)),
                            context.Process(target=echo, args=(forward_in, back_out, True, mine))]
                for child in children:
                    child.start()
                for end in (theirs, forward_in, back_out):
                    end.close()
                self.exchange(ours, ours, PROCESS_SIZES)
                big = {"buffer": pickle.PickleBuffer(bytearray(payload(1 << 20))), "n": 1}
                forward_out.send(big)
                self.assertEqual(back_in.recv(), {"buffer": bytearray(payload(1 << 20)), "n": 1})
                for end in mine:
                    end.close()
                for child in children:
                    self.finish(child)

    def test_a_connection_sent_to_a_running_process(self):
        control, control_theirs = multiprocessing.Pipe()
        child = multiprocessing.get_context("fork").Process(target=echo_what_arrives,
                                                            args=(control_theirs,))
        child.start()
        control_theirs.close()
        ours, theirs = tunedpipe.Pipe()
        control.send(theirs)  # as multiprocessing sends its own: a duplicate over a socket
        theirs.close()
        with ours, control:
            self.exchange(ours, ours, [0, 1 << 20])
        self.finish(child)


class HandingOver(unittest.TestCase):
    def test_a_connection_holding_read_ahead_bytes_is_not_passed_on(self):
        # Two messages in one write: receiving the first reads the second ahead, into this
        # object; a duplicate of the descriptor would start after it, and it would be lost.
        reader, writer = tunedpipe.Pipe(duplex=False)
        with reader, writer:
            os.write(writer.fileno(), b"\x00\x00\x00\x03one\x00\x00\x00\x03two")
            self.assertEqual(reader.recv_bytes(), b"one")
            with self.assertRaises(OSError) as refused:
                multiprocessing.reduction.ForkingPickler.dumps(reader)
            self.assertEqual(refused.exception.errno, errno.EBUSY)
            self.assertEqual(reader.recv_bytes(), b"two")  # still here, still usable
            multiprocessing.reduction.ForkingPickler.dumps(reader)  # and now it may go


class PythonsConnection(Exchanges):
    """multiprocessing.connection.Connection in one process, tunedpipe in the other."""

    def test_every_size_both_ways_over_two_pipes(self):
        implementations = (tunedpipe.Connection, multiprocessing.connection.Connection)
        for parent_uses, child_uses in (implementations, implementations[::-1]):
            with self.subTest(parent=parent_uses.__module__):
                forward_in, forward_out = os.pipe()
                back_in, back_out = os.pipe()
                mine = (parent_uses(forward_out, readable=False),
                        parent_uses(back_in, writable=False))
                theirs = (child_uses(forward_in, writable=False),
                          child_uses(back_out, readable=False))
                child = multiprocessing.get_context("fork").Process(
                    target=echo, args=(*theirs, False, mine))
                child.start()
                for end in theirs:
                    end.close()
                with mine[0], mine[1]:
                    self.exchange(*mine, SIZES)
                self.finish(child)

    def test_every_size_both_ways_over_pythons_duplex_socketpair(self):
        ours, theirs = multiprocessing.Pipe()
        tuned = tunedpipe.Connection(os.dup(ours.fileno()))
        ours.close()
        child = multiprocessing.get_context("fork").Process(target=echo,
                                                            args=(theirs, None, False, [tuned]))
        child.start()
        theirs.close()
        with tuned:
            self.exchange(tuned, tuned, SIZES)
            tuned.send({"an": ["object"]})  # its pickle echoed as bytes by Python's recv_bytes
            self.assertEqual(tuned.recv(), {"an": ["object"]})
        self.finish(child)


@unittest.skipUnless(os.environ.get("PIPES_PYTHON_WORKER"), "PIPES_PYTHON_WORKER not set")
class CppProgram(unittest.TestCase):
    def test_every_size_both_ways_with_a_cpp_pipes_program(self):
        # pipes/examples/python_worker.cpp: 'r' + data -> data reversed, built in a loan.
        to_worker_in, to_worker = tunedpipe.Pipe(duplex=False)
        from_worker, from_worker_out = tunedpipe.Pipe(duplex=False)
        theirs = (to_worker_in.fileno(), from_worker_out.fileno())
        worker = subprocess.Popen([os.environ["PIPES_PYTHON_WORKER"], "--read-fd",
                                   str(theirs[0]), "--write-fd", str(theirs[1])], pass_fds=theirs)
        to_worker_in.close()
        from_worker_out.close()
        with to_worker, from_worker:
            for size in SIZES:
                to_worker.send_bytes(b"r" + payload(size))
                self.assertEqual(from_worker.recv_bytes(), payload(size)[::-1], f"{size} bytes")
        self.assertEqual(worker.wait(10), 0)


def pipe_holds_bytes(fd: int) -> bool:
    held = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, held)
    return held[0] > 0


class KilledPeer(unittest.TestCase):
    def test_a_peer_killed_mid_message_is_an_error_not_a_hang(self):
        reader, writer = tunedpipe.Pipe(duplex=False)
        child = multiprocessing.get_context("fork").Process(
            target=lambda: writer.send_bytes(payload(64 << 20)))  # far more than the pipe holds
        child.start()
        writer.close()
        give_up = time.monotonic() + 10
        while not pipe_holds_bytes(reader.fileno()) and time.monotonic() < give_up:
            time.sleep(0.001)
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        with reader, self.assertRaisesRegex(OSError, "end of file during message"):
            reader.recv_bytes()

    def test_a_peer_killed_while_we_wait_is_end_of_file(self):
        ours, theirs = tunedpipe.Pipe()
        child = multiprocessing.get_context("fork").Process(target=echo, args=(theirs,))
        child.start()
        theirs.close()
        with ours:
            ours.send_bytes(b"ping")
            self.assertEqual(ours.recv_bytes(), b"ping")
            threading.Timer(0.1, os.kill, (child.pid, signal.SIGKILL)).start()
            with self.assertRaises(EOFError):
                ours.recv_bytes()  # blocked when the kill comes, or not yet: either way EOF
            child.join()
            with self.assertRaises(BrokenPipeError):
                ours.send_bytes(b"anyone?")


if __name__ == "__main__":
    unittest.main()

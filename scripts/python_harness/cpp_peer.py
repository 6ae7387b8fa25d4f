"""py_from_tuned_pipe: a C++ `pipes` sender (throughput) or pinger (latency) on the leader's
side, pipebench_python_peer (harness/src/python_peer_main.cpp), feeding the same Python receiver
or echoer as py_pipe over an os.pipe() per direction: what a Python consumer gains from a tuned
sender without changing its own code.

The peer sends the pool's own bytes: it maps privately the file PayloadPool.file_descriptor()
holds (--pool-fd), stamps its copy as PayloadPool.message() does, and the Python side checks it
exactly as it checks a Python sender. There is one payload generator, Python's."""
import array
import functools
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Dict, Optional, Tuple

from .channels import Channel, PipeChannel
from .payload import PayloadPool
from .stats import summarise
from .supervision import CAUSE_GRACE
from .transports import PipeTransport
from .workloads import FOLLOWER, LEADER, WORKLOADS, Role, RoleContext, RoleReport

if TYPE_CHECKING:
    from .settings import Settings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PEER_BINARY = os.path.join(REPO, "build", "harness", "pipebench_python_peer")


class PeerChannel(Channel):
    """The leader's ends of py_from_tuned_pipe, which the C++ peer uses: Python never sends or
    receives on them, it only keeps them open until the peer has its own copies."""

    def __init__(self, outgoing, incoming, pool_fd: int):
        self._ends = (outgoing, incoming)
        self.write_fd = outgoing.fileno()
        self.read_fd = incoming.fileno()
        self.pool_fd = pool_fd  # the pool's file, which the controller keeps open

    def close(self) -> None:
        for end in self._ends:
            end.close()


class FromTunedPipeTransport(PipeTransport):
    id = "py_from_tuned_pipe"
    summary = ("a C++ pipes sender/pinger (default options, pipebench_python_peer) to Python's "
               "recv_bytes over an os.pipe() per direction (echoes: Python send_bytes over a "
               "default pipe)")

    def __init__(self, ctx, pool: PayloadPool):
        self._pool_fd = pool.file_descriptor()  # here in the controller, whose pool is unstamped
        super().__init__(ctx, pool)
        self.sizing = "set by the C++ sender's defaults"

    @classmethod
    def unavailable(cls, settings: "Settings") -> Optional[str]:
        if not os.access(settings.peer_binary, os.X_OK):
            return "C++ peer not built (run ./scripts/setup)"
        return None

    @classmethod
    def cannot_run(cls, workload: str) -> Optional[str]:
        if workload not in CPP_LEADERS and workload != "pairs":  # pairs runs throughput's roles
            return f"pipebench_python_peer has no {workload} leader (throughput and latency only)"
        return None

    @classmethod
    def roles(cls, workload: str) -> Tuple[Role, Role]:
        return CPP_LEADERS[workload], WORKLOADS[workload][FOLLOWER]

    def open(self, side: int) -> Channel:
        outgoing, incoming = self.ends(side)
        if side == LEADER:
            return PeerChannel(outgoing, incoming, self._pool_fd)
        return PipeChannel(outgoing, incoming)


def run_peer(role: str, channel: PeerChannel, context: RoleContext, pool: PayloadPool,
             count: int) -> RoleReport:
    """Runs pipebench_python_peer as this side's `role` (sender or pinger) on the inherited
    descriptors; it maps the pool, says ready, waits for go, and reports its own clock, CPU
    and round trips (see harness/src/python_peer_main.cpp). This process only relays: it is
    blocked reading the peer's stdout while the clock runs, and its CPU is not counted. The peer
    reports no progress until it is done; the stall check watches the Python side."""
    fds = [channel.write_fd, channel.read_fd, context.ack_fd(), channel.pool_fd]
    command = [context.peer_binary, "--role", role, "--write-fd", str(channel.write_fd),
               "--read-fd", str(channel.read_fd), "--ack-fd", str(context.ack_fd()),
               "--size", str(pool.message_size), "--slots", str(pool.slots),
               "--count", str(count), "--pool-fd", str(channel.pool_fd)]
    peer = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            pass_fds=fds)
    try:
        if peer.stdout.readline() != b"ready\n":
            raise RuntimeError(f"the C++ peer failed before it was ready ({peer_status(peer)})")
        context.ready()
        peer.stdin.write(b"go\n")
        peer.stdin.flush()
        fields = peer.stdout.readline().split()
        if len(fields) != 6 or fields[0] != b"done":
            raise RuntimeError(f"the C++ peer failed ({peer_status(peer)})")
        elapsed_ns, cpu_ns, messages, checked, samples = (int(f) for f in fields[1:])
        round_trips = array.array("Q")
        round_trips.frombytes(peer.stdout.read(8 * samples))
        if sys.byteorder != "little":
            round_trips.byteswap()
        if len(round_trips) != samples or peer.wait() != 0:
            raise RuntimeError(f"the C++ peer failed ({peer_status(peer)})")
    finally:
        if peer.poll() is None:
            peer.kill()
        peer.wait()
        peer.stdin.close()
        peer.stdout.close()
    context.progress(count)
    return RoleReport(elapsed_s=elapsed_ns / 1e9, cpu_s=cpu_ns / 1e9, messages_checked=messages,
                      bytes_checked=checked, latency=summarise(round_trips) or None)


def peer_status(peer: subprocess.Popen) -> str:
    """How the peer ended, for an error message (it may need a moment to exit)."""
    try:
        code = peer.wait(timeout=CAUSE_GRACE)
    except subprocess.TimeoutExpired:
        return "still running"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exited with status {code}, its stderr says why"


CPP_LEADERS: Dict[str, Role] = {  # py_from_tuned_pipe's leaders: the C++ peer in each role
    "throughput": Role("sender", functools.partial(run_peer, "sender")),
    "latency": Role("pinger", functools.partial(run_peer, "pinger")),
}

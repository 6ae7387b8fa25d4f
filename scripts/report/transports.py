"""The transports pipebench knows: what each is, which family it belongs to, and how it is drawn.

This is the one place that maps a transport id to a label, colour, marker and line style, so a
transport looks the same in every chart, and the one place that says which role a transport plays
in the report: the ceiling, the baseline pipe, the noise-floor twin, the pipe-lever ablation, the
Python like-for-like pairs, and where one transport runs another's code. The report and the
charts ask for these roles and never spell an id. Ids not listed here (a transport added later)
still work: they get a family from their prefix and a style from a spare palette.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

# Families, in the order reports and legends list them.
CEILING = "ceiling"  # not IPC: the in-process copy every transport is measured against
PIPE = "pipe"  # naive_pipe and the pipes library's variants
LEVER = "lever"  # the library with one lever at a time (ablation)
RIVAL = "rival"  # other ways of moving bytes between two processes, in C++
PYTHON = "python"  # Python's multiprocessing, measured by scripts/python_baselines
CONTROL = "control"  # the same code measured twice: the run's noise floor, never a contender
FAMILIES = (CEILING, PIPE, LEVER, RIVAL, PYTHON, CONTROL)

# Roles. The report and the charts name transports through these, never by a quoted id.
MEMCPY = "memcpy"  # the ceiling: one in-process copy, no IPC
NAIVE = "naive_pipe"  # pipe() with Python's framing: the baseline every lever is measured from
TUNED = "tuned_pipe"  # the pipes library with its default options: the answer to the question
LEVERS_OFF = "pipe_levers_off"  # the library with every lever off: each lever alone starts here
LOAN = "tuned_pipe_loan"  # the zero-copy send path
BUILT = "tuned_pipe_built"  # the loan's like-for-like twin (message built in a user buffer)
BATCH = "tuned_pipe_batch"  # send_batch: many small messages per call
SPIN = "tuned_pipe_spin"  # spin before blocking, for latency
BIGBUF = "pipe_bigbuf"  # the lever capped by the host's pipe-max-size
VMSPLICE = "pipe_vmsplice"  # the kernel-dependent lever
SHM = "shm_ring"  # shared memory: the practical ceiling between processes
POSIX_MQ = "posix_mq"  # limited by the host's mqueue settings
NOISE_TWIN = "control_twin"  # TUNED under a second name: their gap is the run's noise floor
PY_PIPE = "py_pipe"  # Python's Pipe(duplex=False): send_bytes/recv_bytes, no pickling
PY_PIPE_BIGBUF = "py_pipe_bigbuf"  # py_pipe with the pipe grown: what one line of Python buys
PY_QUEUE = "py_queue"  # Python's Queue: the same kind of pipe with pickling in front

# send_batch gathers messages up to this size; a larger message goes alone through send_bytes
# (pipes' batching rule), so above it BATCH runs TUNED's code and measures nothing of its own.
BATCH_LIMIT_BYTES = 16 * 1024

# Transports that sleep between messages: at small sizes their round trip shows the wake-up cost.
BLOCKING_PROBES = (NAIVE, TUNED, "socketpair", SHM)


@dataclass(frozen=True)
class Transport:
    id: str
    family: str
    what: str
    color: str
    marker: str
    linestyle: str = "-"
    linewidth: float = 1.6


# Colours are unique per transport (a transport may share a panel with any other), dark enough
# to read on white, and the two reference lines stand apart: memcpy black dashed (the ceiling),
# shm_ring dash-dot (the practical ceiling between processes), Python dotted.
_CATALOGUE = [
    Transport("memcpy", CEILING, "one in-process copy of N bytes, no IPC (the ceiling)",
              "#000000", "", "--", 2.0),
    Transport("naive_pipe", PIPE, "pipe() at the default 64 KiB, framed as Python's Connection",
              "#1f77b4", "o"),
    Transport("tuned_pipe", PIPE, "pipes library, default options (1 MiB pipe, writev, "
              "read-ahead, vmsplice), send_bytes from a user buffer", "#d62728", "s", "-", 2.4),
    Transport(NOISE_TWIN, CONTROL, "tuned_pipe under a second name (same code, measured apart): "
              "the run's noise floor", "#bbbbbb", "s", "--", 1.2),
    Transport("tuned_pipe_built", PIPE, "pipes, each message built in a user buffer then sent "
              "(tuned_pipe_loan's like-for-like twin)", "#e6a157", "d"),
    Transport("tuned_pipe_loan", PIPE, "pipes zero-copy path: the sender builds each message in "
              "the staging ring, loan then commit", "#ff7f0e", "D", "-", 2.0),
    Transport("tuned_pipe_batch", PIPE, "pipes, small messages gathered into one send_batch",
              "#9467bd", "^"),
    Transport("tuned_pipe_spin", PIPE, "pipes, spin before blocking (for latency)",
              "#e377c2", "v"),
    Transport("pipe_levers_off", LEVER, "pipes with every lever off", "#7f7f7f", "o", "-", 1.3),
    Transport("pipe_bigbuf", LEVER, "levers off + pipe grown to pipe-max-size", "#17becf", ">",
              "-", 1.3),
    Transport("pipe_writev", LEVER, "levers off + header and payload in one writev", "#bcbd22",
              "<", "-", 1.3),
    Transport("pipe_readahead", LEVER, "levers off + buffered read-ahead on the receiver",
              "#8c564b", "p", "-", 1.3),
    Transport("pipe_vmsplice", LEVER, "levers off + vmsplice from the staging ring", "#2ca02c",
              "h", "-", 1.3),
    Transport("socketpair", RIVAL, "AF_UNIX stream socketpair (what Python's duplex Pipe uses)",
              "#0b7f8c", "P"),
    Transport("boost_mq", RIVAL, "boost::interprocess::message_queue", "#c51b7d", "X"),
    Transport("posix_mq", RIVAL, "POSIX message queue (mq_send/mq_receive)", "#a6761d", "*"),
    Transport("shm_ring", RIVAL, "SPSC ring in shared memory, futex wake-ups (the practical "
              "ceiling)", "#1b5e20", "H", "-.", 2.0),
    Transport("zmq_ipc", RIVAL, "ZeroMQ PAIR over ipc://", "#393b79", "8"),
    Transport("zmq_tcp", RIVAL, "ZeroMQ PAIR over tcp://127.0.0.1", "#6b6ecf", "x"),
    Transport("py_pipe", PYTHON, "multiprocessing.Pipe(duplex=False): send_bytes/recv_bytes on "
              "os.pipe(), no pickling", "#843c39", "o", ":", 1.8),
    Transport("py_pipe_bigbuf", PYTHON, "Pipe(duplex=False) with the pipe grown to "
              "pipe-max-size by fcntl(F_SETPIPE_SZ): one line of Python", "#bd9e39", "<", ":",
              1.8),
    Transport("py_pipe_duplex", PYTHON, "multiprocessing.Pipe(): one AF_UNIX socketpair",
              "#d6616b", "s", ":", 1.8),
    Transport("py_queue", PYTHON, "multiprocessing.Queue: pickles, a feeder thread writes a "
              "pipe", "#637939", "^", ":", 1.8),
    Transport("py_shared_memory", PYTHON, "multiprocessing.shared_memory ring + semaphores "
              "(receiver checks in place)", "#7b4173", "D", ":", 1.8),
    Transport("py_from_tuned_pipe", PYTHON, "Python's multiprocessing with the tuned pipe "
              "(see scripts/PYTHON_BASELINES.md)", "#e7969c", "v", ":", 1.8),
]
_BY_ID: Dict[str, Transport] = {t.id: t for t in _CATALOGUE}
_ORDER = {t.id: i for i, t in enumerate(_CATALOGUE)}

# Styles handed out, in order of first request, to ids the catalogue does not know.
_SPARE = [("#5254a3", "1"), ("#8ca252", "2"), ("#ad494a", "4"),
          ("#a55194", "+"), ("#3182bd", "|")]
_unknown: Dict[str, Transport] = {}

# The ablation ladder: each step and what it is best compared with. A lever alone is compared
# with the library with every lever off; the full library with levers off too (all levers
# together); loan with its like-for-like twin; batch and spin with plain tuned_pipe.
LEVER_LADDER: List[Tuple[str, Optional[str]]] = [
    (NAIVE, None),
    (LEVERS_OFF, NAIVE),
    (BIGBUF, LEVERS_OFF),
    ("pipe_writev", LEVERS_OFF),
    ("pipe_readahead", LEVERS_OFF),
    (VMSPLICE, LEVERS_OFF),
    (TUNED, LEVERS_OFF),
    (BUILT, TUNED),
    (LOAN, BUILT),
    (BATCH, TUNED),
    (SPIN, TUNED),
]

# The pipes library's own variants (what "a tuned pipe" can mean in the verdict).
TUNED_FAMILY = (TUNED, LOAN, BUILT, BATCH, SPIN)


@dataclass(frozen=True)
class PythonPair:
    """A Python transport and the C++ one that differs from it only by the language: the only
    C++-against-Python comparisons the report makes."""
    python: str
    cpp: str
    alike: str  # what the two share, for the report
    latency_alike: bool  # False when only the throughput workload is like for like


PYTHON_PAIRS: List[PythonPair] = [
    PythonPair(PY_PIPE, NAIVE, "a default 64 KiB pipe, Python's framing", True),
    PythonPair(PY_PIPE_BIGBUF, BIGBUF, "a pipe grown to pipe-max-size, no other lever",
               True),
    # Its latency echo goes back through a plain pipe written by Python, unlike tuned_pipe's.
    PythonPair("py_from_tuned_pipe", TUNED, "the same C++ pipes sender; a Python receiver "
               "against a C++ one", False),
]


def same_code_as(transport_id: str, size: int) -> Optional[str]:
    """The transport whose code `transport_id` actually runs at `size`, when that is another
    one: then its figure is a second measurement of that transport, not a result of its own."""
    if transport_id == NOISE_TWIN:
        return TUNED
    if transport_id == BATCH and size > BATCH_LIMIT_BYTES:
        return TUNED
    return None


def family_of_unknown(transport_id: str) -> str:
    if transport_id.startswith("py_"):
        return PYTHON
    if transport_id.startswith("pipe_"):
        return LEVER
    if transport_id.startswith("tuned_pipe"):
        return PIPE
    return RIVAL


def get(transport_id: str) -> Transport:
    """The transport's catalogue entry, or a stable made-up one for an unknown id."""
    known = _BY_ID.get(transport_id)
    if known is not None:
        return known
    if transport_id not in _unknown:
        color, marker = _SPARE[len(_unknown) % len(_SPARE)]
        _unknown[transport_id] = Transport(transport_id, family_of_unknown(transport_id),
                                           "not described in scripts/report/transports.py",
                                           color, marker)
    return _unknown[transport_id]


def known_ids() -> List[str]:
    return [t.id for t in _CATALOGUE]


def sort_key(transport_id: str):
    """Catalogue order first, then unknown ids alphabetically."""
    return (_ORDER.get(transport_id, len(_ORDER)), transport_id)


def ordered(transport_ids) -> List[str]:
    return sorted(set(transport_ids), key=sort_key)


def in_families(transport_ids, *families: str) -> List[str]:
    return [t for t in ordered(transport_ids) if get(t).family in families]

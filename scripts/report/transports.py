"""The transports pipebench knows: the role each plays in the report, what each is, which family
it belongs to, and how it is drawn.

This is the one place that spells a transport id. It names the roles the report is written
around (`roles`: the lead pipe and its noise-floor twin, the baseline, the practical ceiling,
the in-process yardstick, the levers, the Python like-for-like pairs...), says where one
transport runs another's code, and maps every id to a description, colour, marker and line
style, so a transport looks the same in every chart. The report, the charts and the analysis ask
for roles and never spell an id (scripts/tests/report/test_transport_roles.py checks it). Ids
not listed here (a transport added later) still work: they get a family from their prefix and a
style from a spare palette. The capacity study's ids (the lead and its loan at fixed pipe
capacities) are made from its list of capacities, and capacity_request() says what one asked
for, so that no other module parses an id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from units import human_size

# Families, in the order reports and legends list them.
CEILING = "ceiling"  # not IPC: the in-process copy every transport is measured against
PIPE = "pipe"  # the baseline pipe and the pipes library's variants
LEVER = "lever"  # the library with one lever at a time (ablation)
CAPACITY = "capacity"  # the lead pipe at a fixed capacity: a lever study, never a contender
RIVAL = "rival"  # other ways of moving bytes between two processes, in C++
PYTHON = "python"  # Python's multiprocessing, measured by scripts/python_baselines
CONTROL = "control"  # the same code measured twice: the run's noise floor, never a contender
FAMILIES = (CEILING, PIPE, LEVER, CAPACITY, RIVAL, PYTHON, CONTROL)

# Copy tiers: how many times each byte of a large message is copied between the sender's data
# and the receiver's check. Building the message in the first place is not counted, nor is the
# receiver's check (it reads; it does not copy). The tier sets the floor a transport's cost per
# byte cannot go under, so the report holds a pipe against the best of each tier. The in-process
# yardstick and the noise-floor twin (families CEILING and CONTROL) are in no tier; a catalogue
# entry without one, or an id the catalogue does not know, is UNCLASSIFIED until someone looks.
TWO_COPIES = "two copies"
ONE_COPY = "one copy"
ZERO_COPY = "zero copy beyond building"
UNCLASSIFIED = "unknown"
COPY_TIERS = {  # most copies first, each with what puts a transport in it
    TWO_COPIES: "the sender copies into a kernel or shared buffer and the receiver copies out "
                "(pipes sending from a user buffer, vmsplice included, since the sender first "
                "copies into its staging ring; sockets; message queues; the shared-memory ring "
                "that copies out); at least two, since ZeroMQ also copies into its message, "
                "Python's Connection gathers what it reads in a BytesIO, and Python's Queue "
                "pickles",
    ONE_COPY: "one copy in all: the receiver copies straight from the sender's memory "
              "(cross-memory attach), or the sender builds the message where the receiver reads "
              "it (the pipes loan, spliced by reference) or copies it into shared memory that "
              "the receiver checks in place",
    ZERO_COPY: "the message is built in memory the receiver maps and checks in place (a "
               "memfd passed by descriptor): nothing is copied after it is built",
}


@dataclass(frozen=True)
class Roles:
    """The part each transport plays in the report, and the transport that plays it. The
    report, the charts and the analysis ask for a role (`roles.lead`) and never spell an id, so
    renaming a transport here renames it in every sentence, table and chart."""
    yardstick: str  # one in-process copy, no IPC: the ceiling, a yardstick (not a hard limit)
    baseline: str  # pipe() with Python's framing: every lever is measured from it
    lead: str  # the pipes library with its default options: the answer to the question
    noise_twin: str  # the lead under a second name: their gap is the run's noise floor
    loan: str  # the lead's zero-copy send path
    loan_twin: str  # the loan's like-for-like twin: each message built in a user buffer, then sent
    batch: str  # send_batch: many small messages per call
    spin: str  # spin before blocking, for latency
    levers_off: str  # the library with every lever off: each lever alone starts here
    big_buffer_lever: str  # the lever capped by the host's pipe-max-size
    writev_lever: str  # header and payload in one writev
    read_ahead_lever: str  # buffered read-ahead on the receiver
    vmsplice_lever: str  # the kernel-dependent lever
    practical_ceiling: str  # shared memory: the fastest way between two processes
    socket_rival: str  # an AF_UNIX socket: sleeps between messages, as a pipe does
    mqueue_rival: str  # limited by the host's mqueue settings
    python_pipe: str  # Python's Pipe(duplex=False): send_bytes/recv_bytes, no pickling
    python_big_buffer: str  # python_pipe with the pipe grown: what one line of Python buys
    python_pickling: str  # Python's Queue: the same kind of pipe with pickling in front
    python_from_lead: str  # a Python receiver fed by the lead's C++ sender
    python_lead: str  # the lead as a Python module (tunedpipe), Python on both sides
    python_lead_objects: str  # python_lead sending objects, their buffers out of band


roles = Roles(
    yardstick="memcpy",
    baseline="naive_pipe",
    lead="tuned_pipe",
    noise_twin="control_twin",
    loan="tuned_pipe_loan",
    loan_twin="tuned_pipe_built",
    batch="tuned_pipe_batch",
    spin="tuned_pipe_spin",
    levers_off="pipe_levers_off",
    big_buffer_lever="pipe_bigbuf",
    writev_lever="pipe_writev",
    read_ahead_lever="pipe_readahead",
    vmsplice_lever="pipe_vmsplice",
    practical_ceiling="shm_ring",
    socket_rival="socketpair",
    mqueue_rival="posix_mq",
    python_pipe="py_pipe",
    python_big_buffer="py_pipe_bigbuf",
    python_pickling="py_queue",
    python_from_lead="py_from_tuned_pipe",
    python_lead="py_tuned_pipe",
    python_lead_objects="py_tuned_pipe_oob",
)

# send_batch gathers messages up to this size; a larger message goes alone through send_bytes
# (pipes' batching rule), so above it the batch variant runs the lead's code and measures
# nothing of its own.
BATCH_LIMIT_BYTES = 16 * 1024

# Transports that sleep between messages: at small sizes their round trip shows the wake-up cost.
BLOCKING_PROBES = (roles.baseline, roles.lead, roles.socket_rival, roles.practical_ceiling)


@dataclass(frozen=True)
class Transport:
    id: str
    family: str
    what: str
    color: str
    marker: str
    linestyle: str = "-"
    linewidth: float = 1.6
    copies: str = UNCLASSIFIED  # the copy tier (COPY_TIERS); see copy_tier()


# Colours are unique per transport (a transport may share a panel with any other), dark enough
# to read on white, and the two reference lines stand apart: the yardstick black dashed (the
# ceiling), the practical ceiling dash-dot (the ceiling between processes), Python dotted.
# A transport with a role is named through it, so that its id is spelled once, in `roles`.
_CATALOGUE = [
    Transport(roles.yardstick, CEILING, "one in-process copy of N bytes, no IPC (the ceiling)",
              "#000000", "", "--", 2.0),
    Transport(roles.baseline, PIPE, "pipe() at the default 64 KiB, framed as Python's "
              "Connection", "#1f77b4", "o", copies=TWO_COPIES),
    Transport(roles.lead, PIPE, "pipes library, default options (1 MiB pipe, writev, "
              "read-ahead, vmsplice), send_bytes from a user buffer", "#d62728", "s", "-", 2.4,
              copies=TWO_COPIES),
    Transport(roles.noise_twin, CONTROL, f"{roles.lead} under a second name (same code, "
              "measured apart): the run's noise floor", "#bbbbbb", "s", "--", 1.2),
    Transport(roles.loan_twin, PIPE, "pipes, each message built in a user buffer then sent "
              f"({roles.loan}'s like-for-like twin)", "#e6a157", "d", copies=TWO_COPIES),
    Transport(roles.loan, PIPE, "pipes zero-copy path: the sender builds each message in "
              "the staging ring, loan then commit", "#ff7f0e", "D", "-", 2.0, copies=ONE_COPY),
    Transport(roles.batch, PIPE, "pipes, small messages gathered into one send_batch",
              "#9467bd", "^", copies=TWO_COPIES),
    Transport(roles.spin, PIPE, "pipes, spin before blocking (for latency)", "#e377c2", "v",
              copies=TWO_COPIES),
    Transport(roles.levers_off, LEVER, "pipes with every lever off", "#7f7f7f", "o", "-", 1.3,
              copies=TWO_COPIES),
    Transport(roles.big_buffer_lever, LEVER, "levers off + pipe grown to pipe-max-size",
              "#17becf", ">", "-", 1.3, copies=TWO_COPIES),
    Transport(roles.writev_lever, LEVER, "levers off + header and payload in one writev",
              "#bcbd22", "<", "-", 1.3, copies=TWO_COPIES),
    Transport(roles.read_ahead_lever, LEVER, "levers off + buffered read-ahead on the receiver",
              "#8c564b", "p", "-", 1.3, copies=TWO_COPIES),
    Transport(roles.vmsplice_lever, LEVER, "levers off + vmsplice from the staging ring",
              "#2ca02c", "h", "-", 1.3, copies=TWO_COPIES),
    Transport(roles.socket_rival, RIVAL, "AF_UNIX stream socketpair (what Python's duplex Pipe "
              "uses)", "#0b7f8c", "P", copies=TWO_COPIES),
    Transport("boost_mq", RIVAL, "boost::interprocess::message_queue", "#c51b7d", "X",
              copies=TWO_COPIES),
    Transport(roles.mqueue_rival, RIVAL, "POSIX message queue (mq_send/mq_receive)", "#a6761d",
              "*", copies=TWO_COPIES),
    Transport(roles.practical_ceiling, RIVAL, "SPSC ring in shared memory, futex wake-ups, each "
              "message copied out as every receiver does (the practical ceiling)", "#1b5e20", "H",
              "-.", 2.0, copies=TWO_COPIES),
    Transport("shm_ring_inplace", RIVAL, f"{roles.practical_ceiling} read in place in the ring "
              "(no receive copy): what only shared memory can do, not like for like",
              "#66bb6a", "h", "-.", 1.4, copies=ONE_COPY),
    Transport("cma", RIVAL, "cross-memory attach: the receiver copies each message out of the "
              "sender's memory with process_vm_readv (one copy)", "#e6550d", "d", "-.", 1.6,
              copies=ONE_COPY),
    Transport("cma_push", RIVAL, "cross-memory attach, pushed: the sender copies each message "
              "into one of the receiver's two buffers with process_vm_writev (one copy), the "
              "receiver reads it in place", "#fd8d3c", "D", "-.", 1.6, copies=ONE_COPY),
    Transport("memfd", RIVAL, "a reused pool of memfds passed once with SCM_RIGHTS, receiver "
              "checks in place: zero copies beyond building", "#756bb1", "p", "-.", 1.6,
              copies=ZERO_COPY),
    Transport("memfd_sealed", RIVAL, "a fresh memfd per message, sealed against writes, "
              "passed with SCM_RIGHTS, receiver checks in place: zero copies beyond building, a "
              "page allocation per message", "#9e9ac8", "P", "-.", 1.6, copies=ZERO_COPY),
    Transport("zmq_ipc", RIVAL, "ZeroMQ PAIR over ipc://", "#393b79", "8", copies=TWO_COPIES),
    Transport("tcp", RIVAL, "one TCP connection over 127.0.0.1, TCP_NODELAY, autotuned buffers, "
              "Python framing", "#9c9ede", "v", copies=TWO_COPIES),
    Transport("zmq_tcp", RIVAL, "ZeroMQ PAIR over tcp://127.0.0.1", "#6b6ecf", "x",
              copies=TWO_COPIES),
    Transport(roles.python_pipe, PYTHON, "multiprocessing.Pipe(duplex=False): "
              "send_bytes/recv_bytes on os.pipe(), no pickling", "#843c39", "o", ":", 1.8,
              copies=TWO_COPIES),
    Transport(roles.python_big_buffer, PYTHON, "Pipe(duplex=False) with the pipe grown to "
              "pipe-max-size by fcntl(F_SETPIPE_SZ): one line of Python", "#bd9e39", "<", ":",
              1.8, copies=TWO_COPIES),
    Transport("py_pipe_duplex", PYTHON, "multiprocessing.Pipe(): one AF_UNIX socketpair",
              "#d6616b", "s", ":", 1.8, copies=TWO_COPIES),
    Transport(roles.python_pickling, PYTHON, "multiprocessing.Queue: pickles, a feeder thread "
              "writes a pipe", "#637939", "^", ":", 1.8, copies=TWO_COPIES),
    Transport("py_pool", PYTHON, "multiprocessing.Pool(W).imap_unordered over bytes: the "
              "worker pools (fanout, fanin) only; pickles each task and result", "#74c476", "h",
              ":", 1.8, copies=TWO_COPIES),
    Transport("py_shared_memory", PYTHON, "multiprocessing.shared_memory ring + semaphores "
              "(receiver checks in place)", "#7b4173", "D", ":", 1.8, copies=ONE_COPY),
    Transport(roles.python_from_lead, PYTHON, "Python's multiprocessing with the tuned pipe "
              "(see scripts/PYTHON_BASELINES.md)", "#e7969c", "v", ":", 1.8, copies=TWO_COPIES),
    Transport(roles.python_lead, PYTHON, "the pipes library as a Python module (tunedpipe), "
              "Python on both sides: send_bytes/recv_bytes", "#a50f15", "s", ":", 2.2,
              copies=TWO_COPIES),
    Transport(roles.python_lead_objects, PYTHON, f"{roles.python_lead} sending objects with "
              "send/recv, each message a buffer pickled out of band (protocol 5)", "#fb6a4a",
              "D", ":", 1.8, copies=TWO_COPIES),
]

# -- the capacity study (issue 16) ------------------------------------------------------------
# The lead and its loan with the pipe asked at one fixed capacity each, measured for throughput
# only, at messages from 64 KiB to 64 MiB. A request above pipe-max-size is granted only to a
# process with CAP_SYS_RESOURCE; otherwise the library halves it until the kernel accepts, so an
# id names the capacity asked and the row's pipe_capacity counter the capacity got, and only the
# latter may be reported. The ids are made here from the capacities, and nowhere else: a module
# that needs what an id asked for calls capacity_request().
PIPE_CAPACITIES = tuple((64 << 10) << (2 * i) for i in range(6))  # 64 KiB, 256 KiB ... 64 MiB
CAPACITY_MESSAGE_SIZES = (64 << 10, 64 << 20)  # the study's message sizes, both ends included
CAPACITY_VARIANTS = {roles.lead: "send_bytes", roles.loan: "loans"}  # how the report names each
_CAPACITY_INFIX = "_cap"


@dataclass(frozen=True)
class CapacityRequest:
    variant: str  # the transport it is with the default capacity: roles.lead or roles.loan
    requested: int  # bytes asked of F_SETPIPE_SZ; what the kernel gave is in the row's counter


def _capacity_tag(n: int) -> str:
    """64 KiB -> '64k', 16 MiB -> '16m': the suffix of the harness's ids."""
    for unit, shift in (("m", 20), ("k", 10)):
        if n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


_CAPACITY_REQUESTS: Dict[str, CapacityRequest] = {
    f"{variant}{_CAPACITY_INFIX}{_capacity_tag(c)}": CapacityRequest(variant, c)
    for variant in CAPACITY_VARIANTS for c in PIPE_CAPACITIES}
_CAPACITY_ID = re.compile("^(?P<variant>" + "|".join(
    re.escape(v) for v in sorted(CAPACITY_VARIANTS, key=len, reverse=True)) + ")" +
    _CAPACITY_INFIX + r"(?P<n>\d+)(?P<unit>[km])$")


def capacity_request(transport_id: str) -> Optional[CapacityRequest]:
    """What a capacity-study id asked for (an id added to the harness later, with a capacity
    not in PIPE_CAPACITIES, too), or None for any other id. Never read the capacity from an id
    anywhere else."""
    known = _CAPACITY_REQUESTS.get(transport_id)
    if known is not None:
        return known
    m = _CAPACITY_ID.match(transport_id)
    if m is None:
        return None
    return CapacityRequest(m.group("variant"),
                           int(m.group("n")) << (20 if m.group("unit") == "m" else 10))


def capacity_ids(variant: Optional[str] = None) -> List[str]:
    """The study's ids (of one variant, if given), variant by variant, smallest capacity first."""
    return [t for t, r in _CAPACITY_REQUESTS.items() if variant in (None, r.variant)]


def capacity_pattern(variant: str) -> str:
    """'<variant>_cap*': the variant's rows of the study, for prose and legends."""
    return f"{variant}{_CAPACITY_INFIX}*"


def _shade(color: str, step: int, steps: int) -> str:
    """`color` lightened (first steps) to darkened (last): the variant's hue, one shade per
    capacity, never the variant's own colour."""
    mix = -0.55 + step / max(steps - 1, 1)
    target = 0 if mix > 0 else 255
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (target - c) * abs(mix)):02x}" for c in rgb)


def _capacity_entries(catalogue: List[Transport]) -> List[Transport]:
    """The study's catalogue entries, each drawn and tiered as the variant it runs."""
    base = {t.id: t for t in catalogue}
    out = []
    for transport_id, request in _CAPACITY_REQUESTS.items():
        b = base[request.variant]
        out.append(Transport(transport_id, CAPACITY, f"{b.id} with the pipe asked at "
                             f"{human_size(request.requested)} (what it got is in the row's "
                             "pipe_capacity counter): the capacity lever, not a contender",
                             _shade(b.color, PIPE_CAPACITIES.index(request.requested),
                                    len(PIPE_CAPACITIES)), b.marker, ":", 1.2, copies=b.copies))
    return out


# The study's entries go after the levers, which it belongs with.
_AFTER_LEVERS = max(i for i, t in enumerate(_CATALOGUE) if t.family == LEVER) + 1
_CATALOGUE[_AFTER_LEVERS:_AFTER_LEVERS] = _capacity_entries(_CATALOGUE)
_BY_ID: Dict[str, Transport] = {t.id: t for t in _CATALOGUE}
_ORDER = {t.id: i for i, t in enumerate(_CATALOGUE)}

# Styles handed out, in order of first request, to ids the catalogue does not know.
_SPARE = [("#5254a3", "1"), ("#8ca252", "2"), ("#ad494a", "4"),
          ("#a55194", "+"), ("#3182bd", "|")]
_unknown: Dict[str, Transport] = {}

# The ablation ladder: each step and what it is best compared with. A lever alone is compared
# with the library with every lever off; the lead with levers off too (all levers together);
# the loan with its like-for-like twin; batch and spin with the lead.
LEVER_LADDER: List[Tuple[str, Optional[str]]] = [
    (roles.baseline, None),
    (roles.levers_off, roles.baseline),
    (roles.big_buffer_lever, roles.levers_off),
    (roles.writev_lever, roles.levers_off),
    (roles.read_ahead_lever, roles.levers_off),
    (roles.vmsplice_lever, roles.levers_off),
    (roles.lead, roles.levers_off),
    (roles.loan_twin, roles.lead),
    (roles.loan, roles.loan_twin),
    (roles.batch, roles.lead),
    (roles.spin, roles.lead),
]

# The pipes library's own variants (what "a tuned pipe" can mean in the verdict), the lead first.
LEAD_VARIANTS = (roles.lead, roles.loan, roles.loan_twin, roles.batch, roles.spin)


@dataclass(frozen=True)
class PythonPair:
    """A Python transport and the C++ one that differs from it only by the language: the only
    C++-against-Python comparisons the report makes."""
    python: str
    cpp: str
    alike: str  # what the two share, for the report
    latency_alike: bool  # False when only the throughput workload is like for like


PYTHON_PAIRS: List[PythonPair] = [
    PythonPair(roles.python_pipe, roles.baseline, "a default 64 KiB pipe, Python's framing",
               True),
    PythonPair(roles.python_big_buffer, roles.big_buffer_lever, "a pipe grown to "
               "pipe-max-size, no other lever", True),
    # Its latency echo goes back through a plain pipe written by Python, unlike the lead's.
    PythonPair(roles.python_from_lead, roles.lead, "the same C++ pipes sender; a Python "
               "receiver against a C++ one", False),
    PythonPair(roles.python_lead, roles.lead, "the pipes library with its default options on "
               "both sides, called from Python", True),
    # Not only the language differs: Python pickles an object around each message.
    PythonPair(roles.python_lead_objects, roles.lead, "the pipes library on both sides; Python "
               "sends an object holding the message, its buffer out of band", True),
]


def same_code_as(transport_id: str, size: int) -> Optional[str]:
    """The transport whose code `transport_id` actually runs at `size`, when that is another
    one: then its figure is a second measurement of that transport, not a result of its own."""
    if transport_id == roles.noise_twin:
        return roles.lead
    if transport_id == roles.batch and size > BATCH_LIMIT_BYTES:
        return roles.lead
    return None


def family_of_unknown(transport_id: str) -> str:
    """The family an id the catalogue does not know gets from its prefix: a new variant of the
    lead is named after it, as its variants are (a new capacity of the study too)."""
    if capacity_request(transport_id) is not None:
        return CAPACITY
    if transport_id.startswith("py_"):
        return PYTHON
    if transport_id.startswith("pipe_"):
        return LEVER
    if transport_id.startswith(roles.lead):
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


def copy_tier(transport_id: str) -> Optional[str]:
    """The transport's copy tier (a key of COPY_TIERS, or UNCLASSIFIED), or None for the
    yardstick and the noise-floor twin, which move no message between processes of their own."""
    t = get(transport_id)
    return None if t.family in (CEILING, CONTROL) else t.copies


def known_ids() -> List[str]:
    return [t.id for t in _CATALOGUE]


def sort_key(transport_id: str):
    """Catalogue order first, then unknown ids alphabetically."""
    return (_ORDER.get(transport_id, len(_ORDER)), transport_id)


def ordered(transport_ids) -> List[str]:
    return sorted(set(transport_ids), key=sort_key)


def in_families(transport_ids, *families: str) -> List[str]:
    return [t for t in ordered(transport_ids) if get(t).family in families]

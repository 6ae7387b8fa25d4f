"""The messages a benchmark sends, and the receiver's check of each one (as
harness/src/payload_pool.cpp)."""
import fcntl
import os
import random
import tempfile
from typing import Dict, Optional, Tuple

from .host import last_level_cache_bytes


class MessageMismatch(Exception):
    """A received message is not the one that was sent (lost, reordered, resized or corrupted)."""


_STREAMS: Dict[int, bytearray] = {}  # seed -> random_stream's one stream
_FILES: Dict[Tuple[int, int], int] = {}  # (seed, bytes) -> PayloadPool.file_descriptor()


def random_stream(seed: int, length: int) -> bytearray:
    """At least `length` bytes of the seed's pseudo-random stream: random.Random(seed).randbytes
    of a whole number of 32-bit words, which is the same stream whatever the length asked (its
    first N bytes never change). Every pool is a prefix of it, so the stream is made once per
    sweep (about 0.5 s per 128 MiB) instead of once per run, and only the longest one asked for
    is kept: a longer request replaces it, never two large copies."""
    stream = _STREAMS.get(seed)
    if stream is None or len(stream) < length:
        _STREAMS.clear()
        stream = bytearray(-(-length // 4) * 4)
        generator = random.Random(seed)
        # In chunks of whole words, which concatenate to the bytes of one randbytes() call: a
        # single randbytes(1 GiB) would briefly need 3 GiB.
        chunk = 8 << 20
        for offset in range(0, len(stream), chunk):
            stream[offset:offset + chunk] = generator.randbytes(min(chunk, len(stream) - offset))
        _STREAMS[seed] = stream
    return stream


def sealed_file(data: memoryview) -> int:
    """A descriptor of a new file holding exactly `data`: a memfd sealed against any change (a
    MAP_PRIVATE mapping is still allowed, and its writes stay private), or, where memfd_create
    is missing or refused, a temporary file unlinked at once (nothing in it is ever written
    again: the peer maps it privately)."""
    try:
        fd = os.memfd_create("pipebench-payload-pool", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        sealable = True
    except (AttributeError, OSError):
        fd, path = tempfile.mkstemp(prefix="pipebench-payload-pool-")
        os.unlink(path)
        sealable = False
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        if sealable:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK
                        | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    except BaseException:
        os.close(fd)
        raise
    return fd


class PayloadPool:
    """The messages a benchmark sends, and the receiver's check of each one.

    Same layout and sizing rule as harness/src/payload_pool.cpp: message `seq` is slot
    `seq % slots` of a pool of pseudo-random bytes, with `seq` stamped little-endian into its
    first bytes (fewer than 8 for shorter messages). Messages of 4 KiB and more rotate over at
    least 4x the last-level cache, so that no measurement reads a cache-resident buffer; smaller
    ones over up to 1024 slots / 8 MiB (a per-message cost dominates them anyway). The bytes are
    the start of random_stream(seed). Sender and receiver each hold a copy (inherited through
    fork); the sender stamps its copy in place, the receiver compares against its own. The
    controller never stamps: pools of different sizes share the one stream, and
    file_descriptor() hands out the unstamped bytes.
    """

    STAMP_SIZE = 8
    LARGE_MESSAGE = 4 << 10  # from this size on, the pool spans several last-level caches
    LLC_MULTIPLE = 4
    MAX_BYTES = 1 << 30  # L3 caches of 32 MiB to 480 MiB have been seen: memory stays sane
    SMALL_BYTES = 8 << 20  # the pool of small messages, and the least a large one spans
    MIN_SLOTS = 2
    MAX_SMALL_SLOTS = 1024
    DEFAULT_SEED = 0x9E3779B97F4A7C15

    @classmethod
    def bytes_for(cls, message_size: int, llc_bytes: int) -> int:
        """Bytes the pool of `message_size` messages spans, given the last-level cache (0 when
        unknown); whole slots of it, and at least MIN_SLOTS, are used."""
        if message_size < cls.LARGE_MESSAGE:
            return min(cls.SMALL_BYTES, message_size * cls.MAX_SMALL_SLOTS)
        return min(max(cls.SMALL_BYTES, cls.LLC_MULTIPLE * llc_bytes), cls.MAX_BYTES)

    @classmethod
    def slots_for(cls, message_size: int, llc_bytes: int) -> int:
        return max(cls.bytes_for(message_size, llc_bytes) // max(message_size, 1), cls.MIN_SLOTS)

    @classmethod
    def rule(cls) -> str:
        """bytes_for in words (the same words as pipebench's context)."""
        return (f"messages >= {cls.LARGE_MESSAGE >> 10} KiB rotate over >= {cls.LLC_MULTIPLE}x "
                f"the last-level cache (at least {cls.SMALL_BYTES >> 20} MiB, at most "
                f"{cls.MAX_BYTES >> 20} MiB, at least {cls.MIN_SLOTS} messages); smaller ones "
                f"over up to {cls.MAX_SMALL_SLOTS} messages / {cls.SMALL_BYTES >> 20} MiB")

    def __init__(self, message_size: int, slots: Optional[int] = None,
                 seed: int = DEFAULT_SEED):
        self.message_size = message_size
        self.seed = seed
        self.slots = slots or self.slots_for(message_size, last_level_cache_bytes())
        self._bytes = random_stream(seed, self.slots * message_size)
        self._view = memoryview(self._bytes)
        self._stamp_size = min(message_size, self.STAMP_SIZE)
        self._stamp_mask = (1 << (8 * self._stamp_size)) - 1

    @property
    def pool_bytes(self) -> int:
        """What the sender rotates over."""
        return self.slots * self.message_size

    def file_descriptor(self) -> int:
        """A descriptor of a file holding exactly the pool's pool_bytes bytes, unstamped, for
        pipebench_python_peer (--pool-fd): the C++ sender sends these very bytes, so that one
        generator serves both languages. Call it in the controller, whose copy is never
        stamped. Files are kept for the sweep, one per length (pools of one seed and one
        length hold the same bytes): writing one of 128 MiB takes about 70 ms, and a benchmark
        takes several runs. They close when the controller exits."""
        key = (self.seed, self.pool_bytes)
        if key not in _FILES:
            _FILES[key] = sealed_file(self._view[:self.pool_bytes])
        return _FILES[key]

    def _offset(self, seq: int) -> int:
        return (seq % self.slots) * self.message_size

    def message(self, seq: int) -> memoryview:
        """Stamps `seq` into its slot and returns the slot: the bytes of message `seq`."""
        offset = self._offset(seq)
        stamp = (seq & self._stamp_mask).to_bytes(self.STAMP_SIZE, "little")
        self._view[offset:offset + self._stamp_size] = stamp[:self._stamp_size]
        return self._view[offset:offset + self.message_size]

    def prefault(self) -> None:
        """Stamps every slot once, so that the copy-on-write faults fork() left behind happen
        before the clock starts rather than inside it."""
        for seq in range(self.slots):
            self.message(seq)

    def sequence_of(self, received) -> int:
        """The sequence number stamped into `received`: how a worker of a pool, handed any of the
        messages, learns which one it holds (all of it only in messages of STAMP_SIZE bytes or
        more; check() then says whether the rest of the message is that one)."""
        return int.from_bytes(received[:self.STAMP_SIZE], "little")

    def matches(self, seq: int, received) -> bool:
        """True if `received` (bytes or any byte buffer, e.g. a view into shared memory) is
        exactly message `seq`: its size, its stamp, and every byte after the stamp."""
        view = memoryview(received)
        size = self.message_size
        if view.nbytes != size:
            return False
        offset = self._offset(seq)
        skip = self._stamp_size
        # bytearray.startswith(buffer, start, end) is one memcmp with no copy; comparing two
        # memoryviews with == would walk them byte by byte, about 20 times slower.
        return (int.from_bytes(view[:skip], "little") == seq & self._stamp_mask
                and self._bytes.startswith(view[skip:], offset + skip, offset + size))

    def check(self, seq: int, received) -> None:
        """Raises MessageMismatch, saying what is wrong, unless `received` is message `seq`."""
        if not self.matches(seq, received):
            raise MessageMismatch(self.explain_mismatch(seq, received))

    def explain_mismatch(self, seq: int, received) -> str:
        """What is wrong with `received` as message `seq` (only called once `matches` failed)."""
        view = memoryview(received).cast("B")
        which = f"message {seq}: "
        if view.nbytes != self.message_size:
            return f"{which}expected {self.message_size} bytes, received {view.nbytes}"
        got = int.from_bytes(view[:self._stamp_size], "little")
        if got != seq & self._stamp_mask:
            return f"{which}carries the stamp of message {got} (lost, duplicated or reordered)"
        offset = self._offset(seq)
        expected = self._view[offset:offset + self.message_size]
        for index in range(self._stamp_size, self.message_size):
            if view[index] != expected[index]:
                return f"{which}byte {index} differs from what was sent (corrupted payload)"
        return f"{which}matches"

"""Every transport by id, in the order of the JSON's rows and of --list: the pairs' (throughput,
latency) and the worker pools' (fanout, fanin)."""
from typing import Dict, List

from .cpp_peer import FromTunedPipeTransport
from .fan_transports import PoolFan, QueueFan
from .transports import (BigBufferPipeTransport, DuplexPipeTransport, PipeTransport,
                         QueueTransport, SharedMemoryTransport, TunedPipeOutOfBandTransport,
                         TunedPipeTransport)

TRANSPORTS: Dict[str, type] = {
    t.id: t for t in (PipeTransport, BigBufferPipeTransport, DuplexPipeTransport, QueueTransport,
                      SharedMemoryTransport, FromTunedPipeTransport, TunedPipeTransport,
                      TunedPipeOutOfBandTransport)
}

FAN_TRANSPORTS: Dict[str, type] = {t.id: t for t in (PoolFan, QueueFan)}


def all_ids() -> List[str]:
    """Every transport id, each once: the pairs' first."""
    return list(TRANSPORTS) + [t for t in FAN_TRANSPORTS if t not in TRANSPORTS]

"""Every transport by id, in the order of the JSON's rows and of --list."""
from typing import Dict

from .cpp_peer import FromTunedPipeTransport
from .transports import (BigBufferPipeTransport, DuplexPipeTransport, PipeTransport,
                         QueueTransport, SharedMemoryTransport, TunedPipeOutOfBandTransport,
                         TunedPipeTransport)

TRANSPORTS: Dict[str, type] = {
    t.id: t for t in (PipeTransport, BigBufferPipeTransport, DuplexPipeTransport, QueueTransport,
                      SharedMemoryTransport, FromTunedPipeTransport, TunedPipeTransport,
                      TunedPipeOutOfBandTransport)
}

"""Passing a Connection to another process, as multiprocessing passes its own: ForkingPickler
pickles it as duplicates of its descriptors (multiprocessing.reduction.DupFd: inherited by a
spawn or forkserver child, sent over a Unix socket to a process already running), and the other
side rebuilds a Connection around them. (With fork, the child simply inherits the object.)

pipes reads ahead: bytes it has read from the descriptor stay with this object, not with the
duplicates. Passing a connection that holds such bytes (or a message it has part sent) is refused
with EBUSY, as detach() is, rather than losing them.
"""
import errno
from multiprocessing import reduction

from .connection import Connection


def reduce_connection(conn):
    if not conn._releasable():
        raise OSError(errno.EBUSY, "cannot pass this connection to another process: bytes it "
                                   "has read ahead (or a message it has part sent) would not "
                                   "go with it; receive them first")
    fds = conn.descriptors()
    duplicates = (tuple(map(reduction.DupFd, fds)) if isinstance(fds, tuple)
                  else reduction.DupFd(fds))
    return rebuild_connection, (duplicates, conn.readable, conn.writable, conn.oob,
                                conn.max_message_size)


def rebuild_connection(duplicates, readable, writable, oob, max_message_size):
    fds = (tuple(d.detach() for d in duplicates) if isinstance(duplicates, tuple)
           else duplicates.detach())
    return Connection(fds, readable, writable, oob=oob, max_message_size=max_message_size)


reduction.register(Connection, reduce_connection)

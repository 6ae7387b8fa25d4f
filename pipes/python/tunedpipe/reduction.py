"""Passing a Connection to another process, as multiprocessing passes its own: ForkingPickler
pickles it as duplicates of its descriptors (multiprocessing.reduction.DupFd: inherited by a
spawn or forkserver child, sent over a Unix socket to a process already running), and the other
side rebuilds a Connection around them. (With fork, the child simply inherits the object.)

Pass a connection before it receives anything in this process: pipes reads ahead, and bytes it
has read from the descriptor stay with this object, not with the duplicate.
"""
from multiprocessing import reduction

from .connection import Connection


def reduce_connection(conn):
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

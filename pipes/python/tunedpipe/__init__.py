"""tunedpipe: the pipes library's tuned pipe for Python, a drop-in for multiprocessing's Pipe.

    from tunedpipe import Pipe
    parent, child = Pipe()              # as multiprocessing.Pipe(), over two tuned kernel pipes
    parent.send_bytes(memoryview(data))  # any buffer, not copied in Python
    child.recv_bytes()                  # bytes, allocated once at the message's size

Connection has multiprocessing.connection.Connection's calls, frames and exceptions, and can be
passed to a multiprocessing.Process (fork, spawn, forkserver) like Python's own. The parts:

  _tunedpipe   the extension: pipes::Connection with the bytes-level calls (the GIL released
               while they block)
  connection   Connection (descriptors, send/recv pickling, detach) and Pipe()
  out_of_band  send()/recv() with pickle protocol 5 buffers out of band (oob=True)
  reduction    passing a Connection to another process
"""
from . import reduction  # noqa: F401  (registers the reducer with multiprocessing)
from .connection import DEFAULT_MAX_MESSAGE_SIZE, Connection, Pipe

__all__ = ["Connection", "Pipe", "DEFAULT_MAX_MESSAGE_SIZE"]

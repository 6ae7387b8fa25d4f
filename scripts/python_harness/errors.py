"""How a failure reads in an error row or a label."""
import signal
from typing import Optional

from .payload import MessageMismatch


def describe_exception(error: BaseException) -> str:
    """The exception's type and message; a mismatch's message alone (it already says what was
    wrong with which message), and what a bare EOFError means here."""
    if isinstance(error, MessageMismatch):
        return str(error)
    if isinstance(error, EOFError) and not str(error):
        return "EOFError: the peer closed its end"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def how_it_ended(exitcode: Optional[int]) -> str:
    """A process's end, from its exit code (multiprocessing's: -N for signal N)."""
    if exitcode is None:
        return "its exit status is unknown"
    if exitcode < 0:
        return f"killed by signal {-exitcode} ({signal.strsignal(-exitcode) or 'unknown'})"
    return f"exited with status {exitcode}"

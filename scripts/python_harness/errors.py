"""How a failure reads in an error row or a label."""
from .payload import MessageMismatch


def describe_exception(error: BaseException) -> str:
    """The exception's type and message; a mismatch's message alone (it already says what was
    wrong with which message), and what a bare EOFError means here."""
    if isinstance(error, MessageMismatch):
        return str(error)
    if isinstance(error, EOFError) and not str(error):
        return "EOFError: the peer closed its end"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

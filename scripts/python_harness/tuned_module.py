"""The project's Python module, tunedpipe (pipes/python), for py_tuned_pipe and
py_tuned_pipe_oob: imported from where it is installed, else from the build tree
(`$PIPEBENCH_TUNEDPIPE_DIR`, by default build/pipes/python in this repository).

An extension module is built for one interpreter (./scripts/setup builds it for Debian's
/usr/bin/python3; any Python 3 of the same minor version can load it), so under another one the
rows are error rows saying so; ./scripts/bench runs this harness under an interpreter that can
import it."""
import functools
import importlib
import os
import platform
import sys
from types import ModuleType
from typing import Optional, Union

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("PIPEBENCH_TUNEDPIPE_DIR") or os.path.join(REPO, "build", "pipes",
                                                                      "python")


@functools.lru_cache(maxsize=None)
def _import() -> Union[ModuleType, str]:
    """tunedpipe, or why it cannot be imported."""
    try:
        return importlib.import_module("tunedpipe")
    except ImportError:
        sys.path.append(BUILD_DIR)
    try:
        return importlib.import_module("tunedpipe")
    except ImportError as error:
        return (f"tunedpipe cannot be imported by {sys.executable} (Python "
                f"{platform.python_version()}) from {BUILD_DIR} ({error}); ./scripts/setup "
                "builds it for /usr/bin/python3")


def unavailable() -> Optional[str]:
    """Why tunedpipe cannot be imported here, or None."""
    found = _import()
    return found if isinstance(found, str) else None


def module() -> ModuleType:
    """tunedpipe itself; unavailable() says first whether there is one."""
    found = _import()
    if isinstance(found, str):
        raise ImportError(found)
    return found

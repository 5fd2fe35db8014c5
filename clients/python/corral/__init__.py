"""corral: Python's multiprocessing API, run by the corral supervisor.

``import corral as multiprocessing`` and keep your program: Pool, Process,
Queue, Lock, Value, Manager … behave as in the standard library, with the
workers spawned and supervised by the ``corral`` binary (a sidecar started
on first use). A Pool can also run workers written in any language:
``Pool(4, command=["./worker"]).map("double", items)``.
"""

import importlib as _importlib
import os as _os
import sys as _sys

from ._errors import (  # noqa: F401
    RemoteError, ProtocolError, ConnectionLost, BinaryNotFound,
    RemoteTimeout, TaskFailed, WorkerLost, PoolBroken, Terminated,
    UnknownFunction, SpawnFailed, TaskTimeout, Cancelled,
)

# The rest is imported on first use (PEP 562), so that a worker, which
# imports this package first thing, starts fast.
_LAZY = {
    "_exc": ["ProcessError", "BufferTooShort", "TimeoutError", "AuthenticationError", "RemoteTraceback"],
    "_process": ["BaseProcess", "Process", "current_process", "active_children", "parent_process"],
    "_pool": ["Pool", "AsyncResult", "ApplyResult", "MapResult"],
    "_futures": ["ProcessPoolExecutor"],
    "_util": ["get_logger", "log_to_stderr", "SUBDEBUG", "SUBWARNING"],
    "_worker": ["serve"],
    "_sidecar": ["get_client", "find_binary"],
    # The shared objects.
    "_objects": ["Queue", "JoinableQueue", "SimpleQueue", "Lock", "RLock", "Semaphore",
                 "BoundedSemaphore", "Condition", "Event", "Barrier"],
    "_ctypes": ["Value", "RawValue", "Array", "RawArray"],
    "_pipe": ["Pipe"],
    "_manager": ["Manager", "SyncManager", "BaseManager"],
}
_WHERE = {name: mod for mod, names in _LAZY.items() for name in names}


def __getattr__(name):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    try:
        m = _importlib.import_module("." + mod, __name__)
    except ModuleNotFoundError as e:
        if e.name != __name__ + "." + mod:
            raise
        raise AttributeError("module %r has no attribute %r (%s is not installed)" % (__name__, name, mod)) from None
    value = getattr(m, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


__version__ = "0.1.0"

# Classes pickled from a worker's __mp_main__ are found in the driver.
if "__main__" in _sys.modules:
    _sys.modules.setdefault("__mp_main__", _sys.modules["__main__"])


def cpu_count():
    """The number of CPUs (NotImplementedError if unknown, as
    multiprocessing)."""
    n = _os.cpu_count()
    if n is None:
        raise NotImplementedError("cannot determine number of cpus")
    return n


def freeze_support():
    """A no-op: corral's children run the interpreter, not a frozen
    executable."""


_start_method = None


def get_start_method(allow_none=False):
    """Always "spawn": corral starts fresh interpreters."""
    global _start_method
    if _start_method is None and not allow_none:
        _start_method = "spawn"
    return _start_method


def set_start_method(method, force=False):
    """Accepted for compatibility; children are always spawned."""
    global _start_method
    if _start_method is not None and not force:
        raise RuntimeError("context has already been set")
    if method not in (None, "spawn", "fork", "forkserver"):
        raise ValueError("cannot find context for %r" % (method,))
    _start_method = None if method is None else "spawn"


def get_all_start_methods():
    return ["spawn", "fork", "forkserver"]


def get_context(method=None):
    """This module: every context spawns."""
    if method not in (None, "spawn", "fork", "forkserver"):
        raise ValueError("cannot find context for %r" % (method,))
    return _sys.modules[__name__]


def set_executable(executable):
    """Accepted for compatibility; workers run sys.executable."""


def set_forkserver_preload(module_names):
    """A no-op."""


def allow_connection_pickling():
    """A no-op."""

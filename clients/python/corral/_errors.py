"""corral/1 error codes (spec/errors.json) and the exceptions they map to.

A JSON-RPC error reply becomes a :class:`RemoteError`, or the subclass for
its code (see :func:`error_from`). Several subclasses also derive from the
standard exception a Python program would catch for the same condition
(``queue.Empty`` for ``empty``, ``EOFError`` for ``eof`` …), so code written
for :mod:`multiprocessing` catches them unchanged.
"""

import queue as _queue
import threading as _threading

# Protocol-level codes (JSON-RPC's and corral's).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
NOT_INITIALIZED = -32001
VERSION_MISMATCH = -32002
TOO_LARGE = -32003
UNAUTHORIZED = -32004

# Application codes.
TIMEOUT = 1000
EMPTY = 1001
FULL = 1002
CLOSED = 1003
NOT_FOUND = 1004
CONFLICT = 1005
NOT_OWNER = 1006
BROKEN_BARRIER = 1007
VALUE_ERROR = 1008
TASK_FAILED = 1010
WORKER_LOST = 1011
POOL_BROKEN = 1012
TERMINATED = 1013
UNKNOWN_FUNCTION = 1014
SPAWN_FAILED = 1015
TASK_TIMEOUT = 1016
CANCELLED = 1017
WRONG_KIND = 1018
EOF = 1019
DIRECTION = 1020

NAMES = {
    PARSE_ERROR: "parse_error",
    INVALID_REQUEST: "invalid_request",
    METHOD_NOT_FOUND: "method_not_found",
    INVALID_PARAMS: "invalid_params",
    INTERNAL_ERROR: "internal_error",
    NOT_INITIALIZED: "not_initialized",
    VERSION_MISMATCH: "version_mismatch",
    TOO_LARGE: "too_large",
    UNAUTHORIZED: "unauthorized",
    TIMEOUT: "timeout",
    EMPTY: "empty",
    FULL: "full",
    CLOSED: "closed",
    NOT_FOUND: "not_found",
    CONFLICT: "conflict",
    NOT_OWNER: "not_owner",
    BROKEN_BARRIER: "broken_barrier",
    VALUE_ERROR: "value_error",
    TASK_FAILED: "task_failed",
    WORKER_LOST: "worker_lost",
    POOL_BROKEN: "pool_broken",
    TERMINATED: "terminated",
    UNKNOWN_FUNCTION: "unknown_function",
    SPAWN_FAILED: "spawn_failed",
    TASK_TIMEOUT: "task_timeout",
    CANCELLED: "cancelled",
    WRONG_KIND: "wrong_kind",
    EOF: "eof",
    DIRECTION: "direction",
}


class RemoteError(Exception):
    """An error answered by a peer (usually the supervisor).

    ``code`` is corral/1's stable code (None for :class:`ConnectionLost`,
    which no peer sent), ``message`` the text for people and ``data`` the
    error's data (a dict for task errors: type, message, traceback, task,
    fn, pool, worker …, §6.2), or None. Programs branch on ``code``.
    """

    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    @property
    def name(self):
        return NAMES.get(self.code, "")

    def __str__(self):
        return self.message or self.name or "corral error %s" % (self.code,)

    def __reduce__(self):
        return (type(self), (self.code, self.message, self.data))


class ProtocolError(RemoteError):
    """A protocol-level error (codes below -32000): a bug or a mismatch."""


class ConnectionLost(RemoteError, ConnectionError):
    """The connection to the supervisor ended before the reply came."""

    def __init__(self, code=None, message="connection to the corral supervisor lost", data=None):
        RemoteError.__init__(self, code, message, data)


class RemoteTimeout(RemoteError, TimeoutError):
    """1000 timeout: a wait ran out of time (what it waited for carries on)."""


class EmptyError(RemoteError, _queue.Empty):
    """1001 empty."""


class FullError(RemoteError, _queue.Full):
    """1002 full."""


class ClosedError(RemoteError, ValueError):
    """1003 closed: the pool or object takes no new work."""


class NotFoundError(RemoteError, LookupError):
    """1004 not_found."""


class ConflictError(RemoteError):
    """1005 conflict: the name exists with another kind or parameters."""


class NotOwnerError(RemoteError):
    """1006 not_owner: release of a lock this connection does not hold."""


class BrokenBarrier(RemoteError, _threading.BrokenBarrierError):
    """1007 broken_barrier."""


class StateError(RemoteError, ValueError):
    """1008 value_error: not valid in the object's state."""


class TaskFailed(RemoteError):
    """1010 task_failed: the task raised in the worker."""


class WorkerLost(RemoteError):
    """1011 worker_lost: the worker running the task exited or was killed."""


class PoolBroken(RemoteError):
    """1012 pool_broken."""


class Terminated(RemoteError):
    """1013 terminated."""


class UnknownFunction(RemoteError):
    """1014 unknown_function."""


class SpawnFailed(RemoteError, OSError):
    """1015 spawn_failed."""

    def __init__(self, code, message, data=None):
        RemoteError.__init__(self, code, message, data)


class TaskTimeout(RemoteError, TimeoutError):
    """1016 task_timeout: the task ran past the pool's task_timeout."""


class Cancelled(RemoteError):
    """1017 cancelled."""


class WrongKind(RemoteError, TypeError):
    """1018 wrong_kind: the object is of another kind."""


class EOFRemoteError(RemoteError, EOFError):
    """1019 eof: the pipe's peer end is closed and nothing is buffered."""


class DirectionError(RemoteError, OSError):
    """1020 direction: the wrong end of a simplex pipe was used."""

    def __init__(self, code, message, data=None):
        RemoteError.__init__(self, code, message, data)


class BinaryNotFound(FileNotFoundError):
    """The corral binary could not be found."""


CLASSES = {
    TIMEOUT: RemoteTimeout,
    EMPTY: EmptyError,
    FULL: FullError,
    CLOSED: ClosedError,
    NOT_FOUND: NotFoundError,
    CONFLICT: ConflictError,
    NOT_OWNER: NotOwnerError,
    BROKEN_BARRIER: BrokenBarrier,
    VALUE_ERROR: StateError,
    TASK_FAILED: TaskFailed,
    WORKER_LOST: WorkerLost,
    POOL_BROKEN: PoolBroken,
    TERMINATED: Terminated,
    UNKNOWN_FUNCTION: UnknownFunction,
    SPAWN_FAILED: SpawnFailed,
    TASK_TIMEOUT: TaskTimeout,
    CANCELLED: Cancelled,
    WRONG_KIND: WrongKind,
    EOF: EOFRemoteError,
    DIRECTION: DirectionError,
}


def error_from(code, message, data=None):
    """The exception for an error reply: the class for ``code``, else
    :class:`ProtocolError` for codes below -32000, else :class:`RemoteError`.
    """
    cls = CLASSES.get(code)
    if cls is None:
        cls = ProtocolError if isinstance(code, int) and code < -32000 + 1 else RemoteError
    return cls(code, message, data)


def error_from_wire(err):
    """The exception for a JSON-RPC ``error`` object (a dict)."""
    if not isinstance(err, dict):
        return RemoteError(None, "malformed error: %r" % (err,))
    return error_from(err.get("code"), err.get("message") or "", err.get("data"))

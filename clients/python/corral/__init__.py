"""corral: Python's multiprocessing API, run by the corral supervisor.

``import corral as multiprocessing`` and keep your program.
"""

from ._errors import (  # noqa: F401
    RemoteError, ProtocolError, ConnectionLost, BinaryNotFound,
    TaskFailed, WorkerLost, PoolBroken, Terminated, UnknownFunction,
    SpawnFailed, TaskTimeout, Cancelled,
)

__version__ = "0.1.0"

"""multiprocessing's own exception classes (the standard library's, so that
code catching multiprocessing.TimeoutError catches corral's too)."""

from multiprocessing import ProcessError, BufferTooShort, TimeoutError, AuthenticationError  # noqa: F401


# The cause attached to an exception re-raised from a worker (its
# traceback there, as text): the standard library's class.
from multiprocessing.pool import RemoteTraceback  # noqa: E402,F401

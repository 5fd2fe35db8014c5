"""multiprocessing's own exception classes (the standard library's, so that
code catching multiprocessing.TimeoutError catches corral's too)."""

from multiprocessing import ProcessError, BufferTooShort, TimeoutError, AuthenticationError  # noqa: F401


class RemoteTraceback(Exception):
    """The cause attached to an exception re-raised from a worker: its
    traceback there, as text."""

    def __init__(self, tb):
        Exception.__init__(self, tb)
        self.tb = tb

    def __str__(self):
        return self.tb

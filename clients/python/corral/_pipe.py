"""Pipe() and its Connection objects, as multiprocessing.Pipe, over a pipe the
corral supervisor holds (spec/PROTOCOL.md §5.45).

``Pipe(duplex=True)`` returns two connections, ends 0 and 1 of one shared
pipe; with ``duplex=False`` the first only receives and the second only
sends. ``send``/``recv`` carry any picklable object (plain JSON travels as
JSON, so a Go or shell peer can read it), ``send_bytes``/``recv_bytes``
bytes.

Closing follows multiprocessing, where an end is a file descriptor each
process has its own copy of: ``close()`` closes this process's copy, and
the peer sees EOFError once every copy of the end is closed. Each end counts
its copies in a supervisor value (made when the end is first pickled for
another process); a process's copies are closed when it exits.
"""

import atexit
import base64
import pickle
import threading

from multiprocessing import BufferTooShort

from . import _errors
from ._errors import RemoteError
from ._objects import SharedObject, _client, _create, _new_name, _register, decode, encode

__all__ = ["Pipe", "Connection", "BufferTooShort"]

# Every open end of this process, kept until closed or the process exits
# (an end dropped without close() still counts as open, as a leaked fd).
_open = set()
_open_mu = threading.Lock()
_hooked = False


def _track(conn):
    global _hooked
    with _open_mu:
        _open.add(conn)
        if not _hooked:
            _hooked = True
            try:
                from . import _sidecar
                _sidecar.add_shutdown_hook(_close_all)
            except Exception:
                atexit.register(_close_all)


def _close_all():
    with _open_mu:
        conns = list(_open)
    for c in conns:
        try:
            c.close()
        except Exception:
            pass


def _bytes_msg(b):
    return {"$bytes": base64.b64encode(b).decode("ascii")}


@_register("pipe")
class Connection(SharedObject):
    """One end of a Pipe (multiprocessing.connection.Connection)."""

    _kind = "pipe"

    def __init__(self, name, end, readable=True, writable=True, counted=False):
        self._name = name
        self._end = end
        self._readable = readable
        self._writable = writable
        self._counted = counted
        self._closed = False
        _track(self)

    # -- handles and pickling ---------------------------------------------

    def __corral_handle__(self):
        return {"$corral": "pipe", "name": self._name, "end": self._end}

    to_json = __corral_handle__

    @classmethod
    def _from_handle(cls, h):
        end = h.get("end", 0)
        return cls(h["name"], end if end in (0, 1) else 0)

    def __reduce__(self):
        if self._closed:
            raise OSError("handle is closed")
        self._count_copy()
        return (_rebuild_end, (self._name, self._end, self._readable, self._writable))

    def _refs(self):
        return "%s.end%d.refs" % (self._name, self._end)

    def _count_copy(self):
        """One more copy of this end is about to exist (in another process)."""
        c = _client()
        if not self._counted:
            c.call("object.create", {"kind": "value", "name": self._refs(),
                                     "params": {"typecode": "q", "initial": 1}})
            self._counted = True
        c.call("value.add", {"name": self._refs(), "delta": 1})

    # -- state ------------------------------------------------------------

    @property
    def closed(self):
        return self._closed

    @property
    def readable(self):
        return self._readable

    @property
    def writable(self):
        return self._writable

    def _check_closed(self):
        if self._closed:
            raise OSError("handle is closed")

    def _check_readable(self):
        if not self._readable:
            raise OSError("connection is write-only")

    def _check_writable(self):
        if not self._writable:
            raise OSError("connection is read-only")

    def fileno(self):
        raise OSError("corral: a Pipe connection lives in the corral supervisor and has no file "
                      "descriptor; use poll(timeout) instead of select/multiprocessing.connection.wait")

    def close(self):
        if self._closed:
            return
        self._closed = True
        with _open_mu:
            _open.discard(self)
        try:
            c = _client()
            if self._counted:
                left = c.call("value.add", {"name": self._refs(), "delta": -1})["value"]
                if left > 0:
                    return
            c.call("pipe.close", {"name": self._name, "end": self._end})
        except RemoteError as e:
            if e.code in (_errors.NOT_FOUND, _errors.CLOSED) or e.code is None:
                return
            raise

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    # -- sending ----------------------------------------------------------

    def _send(self, msg):
        try:
            _client().call("pipe.send", {"name": self._name, "end": self._end, "msg": msg})
        except RemoteError as e:
            if e.code == _errors.CLOSED:
                raise BrokenPipeError(32, "Broken pipe") from None
            if e.code == _errors.DIRECTION:
                raise OSError("connection is read-only") from None
            if e.code == _errors.VALUE_ERROR:
                raise ValueError(e.message) from None
            raise

    def send(self, obj):
        """Send a picklable object."""
        self._check_closed()
        self._check_writable()
        self._send(encode(obj))

    def send_bytes(self, buf, offset=0, size=None):
        """Send the bytes of a bytes-like object (from offset, size bytes)."""
        self._check_closed()
        self._check_writable()
        m = memoryview(buf)
        if m.itemsize > 1:
            m = m.cast("B")
        n = m.nbytes
        if offset < 0:
            raise ValueError("offset is negative")
        if n < offset:
            raise ValueError("buffer length < offset")
        if size is None:
            size = n - offset
        elif size < 0:
            raise ValueError("size is negative")
        elif offset + size > n:
            raise ValueError("buffer length < offset + size")
        self._send(_bytes_msg(m[offset:offset + size].tobytes()))

    # -- receiving --------------------------------------------------------

    def _recv(self, block=True, timeout=None):
        p = {"name": self._name, "end": self._end}
        if not block:
            p["block"] = False
        elif timeout is not None:
            p["timeout"] = timeout if timeout > 0 else 0
        try:
            return _client().call("pipe.recv", p)["msg"]
        except RemoteError as e:
            if e.code == _errors.EOF:
                raise EOFError() from None
            if e.code == _errors.CLOSED:
                raise OSError("handle is closed") from None
            if e.code == _errors.DIRECTION:
                raise OSError("connection is write-only") from None
            raise

    def recv(self):
        """Receive an object sent with send() (EOFError once the peer end is
        closed and nothing is left)."""
        self._check_closed()
        self._check_readable()
        msg = self._recv()
        if type(msg) is dict and len(msg) == 1 and "$bytes" in msg:
            return pickle.loads(base64.b64decode(msg["$bytes"]))
        return decode(msg)

    def _recv_raw_bytes(self):
        msg = self._recv()
        if type(msg) is dict and len(msg) == 1 and "$bytes" in msg:
            return base64.b64decode(msg["$bytes"])
        if type(msg) is str:
            return msg.encode("utf-8")
        return pickle.dumps(decode(msg))

    def recv_bytes(self, maxlength=None):
        """Receive a message as bytes."""
        self._check_closed()
        self._check_readable()
        if maxlength is not None and maxlength < 0:
            raise ValueError("negative maxlength")
        b = self._recv_raw_bytes()
        if maxlength is not None and len(b) > maxlength:
            raise OSError("bad message length")
        return b

    def recv_bytes_into(self, buf, offset=0):
        """Receive a message into a writable bytes-like object; return its
        length (BufferTooShort, holding the message, when it does not fit)."""
        self._check_closed()
        self._check_readable()
        with memoryview(buf) as m:
            itemsize = m.itemsize
            bytesize = itemsize * len(m)
            if offset < 0:
                raise ValueError("negative offset")
            elif offset > bytesize:
                raise ValueError("offset too large")
            b = self._recv_raw_bytes()
            size = len(b)
            if bytesize - offset < size:
                raise BufferTooShort(b)
            m.cast("B")[offset:offset + size] = b
        return size

    def poll(self, timeout=0.0):
        """Whether there is anything to receive, waiting up to timeout
        seconds (None: without limit)."""
        self._check_closed()
        self._check_readable()
        p = {"name": self._name, "end": self._end}
        if timeout is None:
            p["block"] = True
        elif timeout > 0:
            p["timeout"] = timeout
        try:
            return _client().call("pipe.poll", p)["ready"]
        except RemoteError as e:
            if e.code == _errors.CLOSED:
                raise OSError("handle is closed") from None
            if e.code == _errors.DIRECTION:
                raise OSError("connection is write-only") from None
            raise

    def __repr__(self):
        return "<corral Connection %s end %d%s>" % (self._name, self._end, " closed" if self._closed else "")


def _rebuild_end(name, end, readable, writable):
    return Connection(name, end, readable, writable, counted=True)


def Pipe(duplex=True, *, name=None):
    """multiprocessing.Pipe(duplex=True): a pair of Connection objects. With
    duplex False, (reader, writer)."""
    name = name or _new_name("pipe")
    _create("pipe", name, None if duplex else {"duplex": False})
    if duplex:
        return Connection(name, 0), Connection(name, 1)
    return Connection(name, 0, True, False), Connection(name, 1, False, True)

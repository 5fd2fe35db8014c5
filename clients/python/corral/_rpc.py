"""A JSON-RPC 2.0 connection over NDJSON (spec/PROTOCOL.md §2).

One :class:`Connection` wraps a byte stream pair: two file descriptors (the
sidecar's stdin/stdout, a worker's fds 3/4) or a connected Unix socket. A
reader thread reads one message per line and routes it:

- a response goes to the caller waiting for its id (:meth:`Connection.call`)
  or to the callback given to :meth:`Connection.call_async`, run in the
  reader thread;
- a notification goes to the handler registered with
  :meth:`Connection.on_notification`, run in the reader thread;
- a request goes to the handler registered with :meth:`Connection.on_request`
  (run in the reader thread, it answers with :meth:`Connection.reply` or
  :meth:`Connection.reply_error`, now or later from any thread), else it is
  answered with -32601.

Writes are serialised by a lock, so every method may be called from any
thread. Handlers run in the reader thread and must not block on a reply
from this connection.
"""

import json
import os
import socket
import sys
import threading
import _thread

from ._errors import (
    ConnectionLost,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    INTERNAL_ERROR,
    error_from_wire,
)

__all__ = ["Connection"]

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False,
                           check_circular=False).encode
_decode = json.JSONDecoder().decode


class _Waiter(object):
    """One blocked call: a lock held until the reply is in."""

    __slots__ = ("lock", "result", "error")

    def __init__(self):
        self.lock = _thread.allocate_lock()
        self.lock.acquire()
        self.result = None
        self.error = None

    def __call__(self, result, error):
        self.result = result
        self.error = error
        self.lock.release()


class Connection(object):
    """A thread-safe JSON-RPC 2.0 NDJSON connection.

    ``Connection(rfd, wfd)`` reads from file descriptor ``rfd`` and writes to
    ``wfd`` (ints, or objects with ``fileno()``), and owns both: it closes
    them when it ends. See also :meth:`from_socket`
    and :meth:`connect_unix`. The reader thread starts at once unless
    ``start=False`` (then call :meth:`start` once handlers are registered).
    """

    def __init__(self, rfd, wfd, name="corral", start=True, _sock=None):
        if not isinstance(rfd, int):
            rfd = rfd.fileno()
        if not isinstance(wfd, int):
            wfd = wfd.fileno()
        self.name = name
        self._sock = _sock
        self._rfd = rfd
        self._wfd = wfd
        if _sock is not None:
            self._rfile = _sock.makefile("rb", buffering=1 << 16)
            self._send = _sock.sendall
        else:
            self._rfile = open(rfd, "rb", buffering=1 << 16, closefd=(rfd != wfd))
            self._send = self._write_fd
        self._wlock = _thread.allocate_lock()
        self._plock = _thread.allocate_lock()
        self._pending = {}
        self._next_id = 0
        self._closed = False
        self._lost = None  # the ConnectionLost once the connection ended
        self._notif = {}
        self._requests = {}
        self._on_close = []
        self._reader = None
        self._reader_ident = None
        if start:
            self.start()

    # -- construction -----------------------------------------------------

    @classmethod
    def connect_unix(cls, path, name="corral", start=True):
        """Connect to the Unix socket at ``path``."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except BaseException:
            s.close()
            raise
        return cls.from_socket(s, name=name, start=start)

    @classmethod
    def from_socket(cls, sock, name="corral", start=True):
        """Wrap a connected stream socket (the connection owns it)."""
        fd = sock.fileno()
        return cls(fd, fd, name=name, start=start, _sock=sock)

    def start(self):
        """Start the reader thread (once)."""
        if self._reader is None:
            t = threading.Thread(target=self._read_loop, name="corral-rpc-%s" % self.name, daemon=True)
            self._reader = t
            t.start()

    # -- handlers ---------------------------------------------------------

    def on_notification(self, method, fn):
        """Call ``fn(params)`` in the reader thread for each notification
        ``method``. ``fn`` None removes the handler."""
        if fn is None:
            self._notif.pop(method, None)
        else:
            self._notif[method] = fn

    def on_request(self, method, fn):
        """Call ``fn(req_id, params)`` in the reader thread for each request
        ``method``. The handler answers with :meth:`reply` or
        :meth:`reply_error`, at once or later from any thread. If it raises,
        the request is answered with -32603 (or the error's code for a
        :class:`~corral.RemoteError`)."""
        if fn is None:
            self._requests.pop(method, None)
        else:
            self._requests[method] = fn

    def on_close(self, fn):
        """Call ``fn(exc)`` once when the connection ends (in the reader
        thread, or at once if it has already ended)."""
        if self._lost is not None:
            fn(self._lost)
        else:
            self._on_close.append(fn)

    # -- sending ----------------------------------------------------------

    def _write_fd(self, data):
        fd = self._wfd
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def _write(self, msg):
        data = _encode(msg).encode("utf-8") + b"\n"
        with self._wlock:
            if self._closed:
                raise self._lost or ConnectionLost()
            try:
                self._send(data)
            except OSError as e:
                raise ConnectionLost(message="connection to the corral supervisor lost: %s" % e) from e

    def _register(self, cb):
        with self._plock:
            if self._lost is not None:
                raise self._lost
            self._next_id += 1
            rid = self._next_id
            self._pending[rid] = cb
        return rid

    def call(self, method, params=None, timeout=None):
        """Send a request and block until its reply; return its result or
        raise the :class:`~corral.RemoteError` for its error.

        ``timeout`` (seconds) bounds the local wait only: the request stays
        outstanding and :class:`TimeoutError` is raised."""
        if self._reader_ident is not None and self._reader_ident == _thread.get_ident():
            raise RuntimeError("corral: a blocking call from a reply handler would deadlock the connection")
        w = _Waiter()
        rid = self._register(w)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        try:
            self._write(msg)
        except BaseException:
            with self._plock:
                self._pending.pop(rid, None)
            raise
        if timeout is None:
            w.lock.acquire()
        elif not w.lock.acquire(True, max(timeout, 0)):
            with self._plock:
                if self._pending.pop(rid, None) is not None:
                    raise TimeoutError("corral: no reply to %s within %gs" % (method, timeout))
            w.lock.acquire()
        if w.error is not None:
            raise w.error
        return w.result

    def call_async(self, method, params=None, callback=None):
        """Send a request; when its reply comes, run ``callback(result,
        error)`` in the reader thread (``error`` is None or the
        exception). Returns the request id."""
        rid = self._register(callback if callback is not None else _ignore)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        try:
            self._write(msg)
        except BaseException:
            with self._plock:
                self._pending.pop(rid, None)
            raise
        return rid

    def notify(self, method, params=None):
        """Send a notification (no reply)."""
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._write(msg)

    def reply(self, req_id, result):
        """Answer request ``req_id`` with ``result``."""
        self._write({"jsonrpc": "2.0", "id": req_id, "result": result})

    def reply_error(self, req_id, code, message, data=None):
        """Answer request ``req_id`` with an error."""
        err = {"code": code, "message": message}
        if data is not None:
            err["data"] = data
        self._write({"jsonrpc": "2.0", "id": req_id, "error": err})

    def send_raw(self, line):
        """Write one already-encoded message (bytes, without the newline)."""
        with self._wlock:
            if self._closed:
                raise self._lost or ConnectionLost()
            self._send(line + b"\n")

    # -- closing ----------------------------------------------------------

    @property
    def closed(self):
        return self._closed or self._lost is not None

    def close(self):
        """Close the connection: no more writes; pending calls fail with
        :class:`~corral.ConnectionLost`. The peer sees end of file."""
        with self._wlock:
            if self._closed:
                return
            self._closed = True
            if self._sock is not None:
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            else:
                try:
                    os.close(self._wfd)
                except OSError:
                    pass
        # The reader ends when the peer, seeing end of file, closes its
        # side; wait_closed waits for that.
        self._fail_pending(ConnectionLost(message="connection to the corral supervisor closed"))

    def wait_closed(self, timeout=None):
        """Wait for the reader thread to end (the peer closed its side)."""
        t = self._reader
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        return t is None or not t.is_alive()

    def _fail_pending(self, exc):
        with self._plock:
            if self._lost is None:
                self._lost = exc
            pending = self._pending
            self._pending = {}
        for cb in pending.values():
            try:
                cb(None, exc)
            except Exception:
                _report("a reply callback")

    # -- reading ----------------------------------------------------------

    def _read_loop(self):
        self._reader_ident = _thread.get_ident()
        readline = self._rfile.readline
        try:
            while True:
                try:
                    line = readline()
                except (OSError, ValueError):
                    break
                if not line:
                    break
                try:
                    self._dispatch(line)
                except Exception:
                    _report("handling a message")
        finally:
            lost = ConnectionLost()
            self._fail_pending(lost)
            lost = self._lost
            cbs, self._on_close = self._on_close, []
            for fn in cbs:
                try:
                    fn(lost)
                except Exception:
                    _report("a close handler")
            try:
                self._rfile.close()
            except Exception:
                pass
            if self._sock is not None:
                try:
                    self._sock.close()
                except OSError:
                    pass

    def _dispatch(self, line):
        try:
            msg = _decode(line.decode("utf-8"))
        except ValueError:
            if line.strip():
                self._safe_error(None, PARSE_ERROR, "parse error: the line is not valid JSON")
            return
        if type(msg) is not dict:
            self._safe_error(None, INVALID_REQUEST, "invalid request: a message must be a JSON object")
            return
        method = msg.get("method")
        if method is None:
            # A response.
            rid = msg.get("id")
            with self._plock:
                cb = self._pending.pop(rid, None)
            if cb is None:
                return
            err = msg.get("error")
            if err is not None:
                cb(None, error_from_wire(err))
            else:
                cb(msg.get("result"), None)
            return
        if "id" not in msg:
            fn = self._notif.get(method)
            if fn is not None:
                fn(msg.get("params"))
            return
        rid = msg["id"]
        if msg.get("jsonrpc") != "2.0":
            self._safe_error(rid, INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"')
            return
        if not isinstance(method, str):
            self._safe_error(rid, INVALID_REQUEST, 'invalid request: "method" must be a string')
            return
        fn = self._requests.get(method)
        if fn is None:
            self._safe_error(rid, METHOD_NOT_FOUND, "method not found: %s" % json.dumps(method))
            return
        try:
            fn(rid, msg.get("params"))
        except Exception as e:
            code = getattr(e, "code", None)
            if not isinstance(code, int):
                code = INTERNAL_ERROR
            self._safe_error(rid, code, "%s: %s" % (type(e).__name__, e))

    def _safe_error(self, rid, code, message):
        try:
            self.reply_error(rid, code, message)
        except Exception:
            pass


def _ignore(result, error):
    pass


def _report(what):
    try:
        import traceback
        sys.stderr.write("corral: error in %s:\n%s" % (what, traceback.format_exc()))
    except Exception:
        pass

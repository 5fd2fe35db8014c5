"""A JSON-RPC 2.0 connection over NDJSON (spec/PROTOCOL.md §2).

One :class:`Connection` wraps a byte stream pair: two file descriptors (the
sidecar's link, a worker's fds 3/4) or a connected Unix socket. Messages
are read one per line and routed:

- a response goes to the caller waiting for its id (:meth:`Connection.call`)
  or to the callback given to :meth:`Connection.call_async`;
- a notification goes to the handler registered with
  :meth:`Connection.on_notification`;
- a request goes to the handler registered with :meth:`Connection.on_request`
  (it answers with :meth:`Connection.reply` or :meth:`Connection.reply_error`,
  now or later from any thread), else it is answered with -32601.

Who reads: a thread blocked in :meth:`call` reads the connection itself
when no one else does, so a sequential call costs no thread switch; while
callbacks are awaited (:meth:`call_async`, streams held with
:meth:`hold`, request handlers) and no caller reads, a background reader
does. Callbacks and handlers run in whichever thread read the message, so
they must be quick and must not block on this connection (a blocking
:meth:`call` from one raises RuntimeError).

Writes are serialised by a lock; every method may be called from any
thread.
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
    """One blocked call: its lock is held until the reply is in, or until
    the caller is made the reader (``promoted``)."""

    __slots__ = ("lock", "result", "error", "done", "promoted", "parked")

    def __init__(self):
        self.lock = _thread.allocate_lock()
        self.lock.acquire()
        self.result = None
        self.error = None
        self.done = False
        self.promoted = False
        self.parked = False  # its caller waits on lock


_local = threading.local()


class Connection(object):
    """A thread-safe JSON-RPC 2.0 NDJSON connection.

    ``Connection(rfd, wfd)`` reads from file descriptor ``rfd`` and writes to
    ``wfd`` (ints, or objects with ``fileno()``), and owns both: it closes
    them when it ends. See also :meth:`from_socket` and
    :meth:`connect_unix`. ``start`` is accepted for compatibility: reading
    starts with the first call.
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
        # _mu guards the pending calls and who reads.
        self._mu = _thread.allocate_lock()
        self._pending = {}
        self._next_id = 0
        self._closed = False
        self._lost = None  # the ConnectionLost once the connection ended
        self._notif = {}
        self._requests = {}
        self._on_close = []
        self._reading = False   # a thread has the read duty
        self._sync = []         # waiting callers, not reading, in order
        self._async = 0         # replies and notifications awaited by callbacks
        self._bg = None         # the background reader thread
        self._bg_wake = _thread.allocate_lock()
        self._bg_wake.acquire()
        self._bg_duty = False

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
        """Kept for compatibility: reading needs no start."""

    # -- handlers ---------------------------------------------------------

    def on_notification(self, method, fn):
        """Call ``fn(params)`` for each notification ``method`` (in the
        thread that reads it). ``fn`` None removes the handler. Use
        :meth:`hold` while notifications are awaited with no call pending."""
        if fn is None:
            self._notif.pop(method, None)
        else:
            self._notif[method] = fn

    def on_request(self, method, fn):
        """Call ``fn(req_id, params)`` for each request ``method`` (in the
        thread that reads it). The handler answers with :meth:`reply` or
        :meth:`reply_error`, at once or later from any thread. If it raises,
        the request is answered with -32603 (or the error's code for a
        :class:`~corral.RemoteError`). Registering a handler keeps a reader
        on the connection from then on."""
        if fn is None:
            self._requests.pop(method, None)
        else:
            first = method not in self._requests
            self._requests[method] = fn
            if first:
                self.hold()

    def on_close(self, fn):
        """Call ``fn(exc)`` once when the connection ends (at once if it has
        already ended)."""
        if self._lost is not None:
            fn(self._lost)
        else:
            self._on_close.append(fn)

    def hold(self, n=1):
        """Keep a reader on the connection: notifications are awaited.
        Undo with :meth:`unhold`."""
        with self._mu:
            self._async += n
            wake = self._claim_for_bg()
        if wake:
            self._wake_bg()

    def unhold(self, n=1):
        with self._mu:
            self._async -= n

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

    def _register(self, cb, is_async):
        with self._mu:
            if self._lost is not None:
                raise self._lost
            self._next_id += 1
            rid = self._next_id
            self._pending[rid] = cb
            if is_async:
                self._async += 1
        return rid

    def _unregister(self, rid, is_async):
        with self._mu:
            if self._pending.pop(rid, None) is not None and is_async:
                self._async -= 1

    def call(self, method, params=None, timeout=None):
        """Send a request and block until its reply; return its result or
        raise the :class:`~corral.RemoteError` for its error.

        ``timeout`` (seconds) bounds the local wait only: the request stays
        outstanding and :class:`TimeoutError` is raised."""
        if getattr(_local, "dispatching", False):
            raise RuntimeError("corral: a blocking call from a reply or notification handler would "
                               "deadlock the connection")
        w = _Waiter()
        rid = self._register(w, False)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        try:
            self._write(msg)
        except BaseException:
            self._unregister(rid, False)
            raise
        wake = False
        with self._mu:
            if w.done:
                mode = 0
            elif not self._reading and timeout is None:
                self._reading = True
                mode = 1
            else:
                w.parked = True
                mode = 2
                if timeout is None:
                    self._sync.append(w)
                else:
                    # A timed wait does not read: a background reader must.
                    self._async += 1
                    wake = self._claim_for_bg()
        if mode == 2:
            if wake:
                self._wake_bg()
            if self._wait(w, rid, method, timeout):
                mode = 1
        if mode == 1:
            self._read_until(w)
        if w.error is not None:
            raise w.error
        return w.result

    def _wait(self, w, rid, method, timeout):
        """Wait as a non-reader; True when made the reader."""
        try:
            if timeout is None:
                w.lock.acquire()
            elif not w.lock.acquire(True, max(timeout, 0)):
                with self._mu:
                    if w.parked:
                        w.parked = False
                        self._pending.pop(rid, None)
                        self._async -= 1
                        raise TimeoutError("corral: no reply to %s within %gs" % (method, timeout))
                w.lock.acquire()
            if timeout is not None:
                with self._mu:
                    self._async -= 1
        except BaseException:
            # Interrupted (KeyboardInterrupt): leave the queue; hand on the
            # read duty if it was just given to us.
            with self._mu:
                if w in self._sync:
                    self._sync.remove(w)
                if w.parked and timeout is not None:
                    self._async -= 1
                w.parked = False
                self._pending.pop(rid, None)
                promoted = w.promoted and not w.done
            if promoted:
                self._handoff()
            raise
        return w.promoted and not w.done

    def call_async(self, method, params=None, callback=None):
        """Send a request; when its reply comes, run ``callback(result,
        error)`` (``error`` is None or the exception) in the thread that
        reads it. Returns the request id."""
        rid = self._register(callback if callback is not None else _ignore, True)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        try:
            self._write(msg)
        except BaseException:
            self._unregister(rid, True)
            raise
        with self._mu:
            wake = self._claim_for_bg()
        if wake:
            self._wake_bg()
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

    # -- who reads ----------------------------------------------------------

    def _claim_for_bg(self):
        """With _mu held: give the read duty to the background reader if no
        one has it. True when it must be woken."""
        if self._reading or self._lost is not None:
            return False
        self._reading = True
        self._bg_duty = True
        return True

    def _wake_bg(self):
        if self._bg is None:
            t = threading.Thread(target=self._bg_loop, name="corral-rpc-%s" % self.name, daemon=True)
            self._bg = t
            t.start()
        try:
            self._bg_wake.release()
        except RuntimeError:
            pass  # already awake

    def _handoff(self):
        """Give up the read duty: to the first waiting caller, else to the
        background reader while callbacks are awaited, else to no one."""
        promote = None
        wake = False
        with self._mu:
            if self._lost is not None:
                self._reading = False
                return
            if self._sync:
                promote = self._sync.pop(0)
                promote.promoted = True
                promote.parked = False
            elif self._async > 0:
                self._bg_duty = True
                wake = True
            else:
                self._reading = False
        if promote is not None:
            promote.lock.release()
        elif wake:
            self._wake_bg()

    def _read_one(self):
        """Read and dispatch one message; False at end of file."""
        try:
            line = self._rfile.readline()
        except (OSError, ValueError):
            line = b""
        if not line:
            self._end()
            return False
        _local.dispatching = True
        try:
            self._dispatch(line)
        except Exception:
            _report("handling a message")
        finally:
            _local.dispatching = False
        return True

    def _read_until(self, w):
        """Read as the reader until ``w`` is answered, then hand on."""
        try:
            while not w.done:
                if not self._read_one():
                    return
        except BaseException:
            self._handoff()
            raise
        self._handoff()

    def _bg_loop(self):
        while True:
            self._bg_wake.acquire()
            if not self._bg_duty:
                if self._lost is not None:
                    return
                continue
            while True:
                with self._mu:
                    if self._lost is not None:
                        self._bg_duty = False
                        self._reading = False
                        return
                    if self._async <= 0 or self._sync:
                        self._bg_duty = False
                        break
                if not self._read_one():
                    return
            self._handoff_from_bg()

    def _handoff_from_bg(self):
        promote = None
        with self._mu:
            if self._sync:
                promote = self._sync.pop(0)
                promote.promoted = True
                promote.parked = False
            elif self._async > 0:
                self._bg_duty = True
            else:
                self._reading = False
        if promote is not None:
            promote.lock.release()
        elif self._bg_duty:
            try:
                self._bg_wake.release()
            except RuntimeError:
                pass

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
        self._fail_pending(ConnectionLost(message="connection to the corral supervisor closed"))

    def wait_closed(self, timeout=None):
        """Kept for compatibility: True."""
        return True

    def _fail_pending(self, exc):
        with self._mu:
            if self._lost is None:
                self._lost = exc
            pending = self._pending
            self._pending = {}
            self._sync = []
            self._async = 0
            release = []
            for cb in pending.values():
                if type(cb) is _Waiter and not cb.done:
                    cb.error = exc
                    cb.done = True
                    if cb.parked:
                        cb.parked = False
                        release.append(cb)
        for w in release:
            w.lock.release()
        for cb in pending.values():
            if type(cb) is not _Waiter:
                try:
                    cb(None, exc)
                except Exception:
                    _report("a reply callback")
        try:
            self._bg_wake.release()
        except RuntimeError:
            pass

    def _end(self):
        """End of file: fail what is pending, run the close handlers."""
        self._fail_pending(ConnectionLost())
        cbs, self._on_close = self._on_close, []
        for fn in cbs:
            try:
                fn(self._lost)
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

    # -- dispatching ------------------------------------------------------

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
            with self._mu:
                cb = self._pending.pop(rid, None)
                if cb is None:
                    return
                if type(cb) is _Waiter:
                    err = msg.get("error")
                    if err is not None:
                        cb.error = error_from_wire(err)
                    else:
                        cb.result = msg.get("result")
                    cb.done = True
                    release = cb.parked
                    if release:
                        cb.parked = False
                        if cb in self._sync:
                            self._sync.remove(cb)
                else:
                    self._async -= 1
            if type(cb) is _Waiter:
                if release:
                    cb.lock.release()
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

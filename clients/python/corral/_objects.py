"""Queues, locks, semaphores, conditions, events and barriers hosted by the
corral supervisor, with the names, signatures, return values and exceptions
of :mod:`multiprocessing` (spec/PROTOCOL.md §5.30–§5.39).

Handles. Every shared object of this package (these, and the values, arrays,
pipes and manager proxies of ``_ctypes``, ``_pipe`` and ``_manager``) has a
method ``__corral_handle__()`` returning its handle, the plain JSON dict
``{"$corral": KIND, "name": NAME}`` (values and arrays add ``"typecode"``),
and ``to_json()``, the same method under a public name. Encoders send that
dict to non-Python peers; :func:`from_handle` turns a handle received from
any peer back into the proxy. Between Python processes objects travel by
pickle: ``__reduce__`` rebuilds the proxy from its name without a round
trip, on the receiving process's own connection (``get_client()``).

Ownership. The supervisor gives locks to connections. So that a lock held by
one thread is not held by every thread of the process, lock, rlock and
condition operations from a thread other than the main one go through a
connection of that thread's own (opened on first use, closed when the thread
ends); everything else uses the process's connection.
"""

import base64
import itertools
import json
import os
import pickle
import socket
import sys
import queue as _queue
import threading
import time
import _thread

from . import _errors
from ._errors import RemoteError

__all__ = [
    "Queue", "JoinableQueue", "SimpleQueue", "Lock", "RLock", "Semaphore",
    "BoundedSemaphore", "Condition", "Event", "Barrier", "BrokenBarrierError",
    "from_handle", "handle_of",
]

BrokenBarrierError = threading.BrokenBarrierError

# ---------------------------------------------------------------------------
# Connections


def _sidecar():
    from . import _sidecar as s
    return s


_json_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode
_json_decode = json.JSONDecoder().decode


class _Sync(object):
    """A connection of one thread's own to the supervisor's socket.

    Calls are synchronous, in the calling thread: write the request, read
    until its reply. No reader thread stands between the caller and the
    socket, which halves a round trip's cost, and the supervisor's owner of
    a lock is the thread.

    Writes that cannot wait and whose answer is nothing (a put to an
    unbounded queue, a dict or namespace set, a list append) are sent
    without waiting for the reply (:meth:`send`). What they do is seen at
    once by the same thread, which reads its replies in order; before any
    other thread of the process sends a request, the writes pending on
    every other connection are acknowledged first (:func:`_sync_others`),
    so an order the threads agreed on holds at the supervisor too; and a
    process's pending writes are acknowledged before it exits. A write the
    supervisor refuses (an item over its size limit) is reported on
    stderr, as multiprocessing's queue feeder thread does.
    """

    def __init__(self, path, name):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._sendall = sock.sendall
        self._recv = sock.recv
        self._buf = b""
        self._ids = itertools.count(1)
        self._wmu = _thread.allocate_lock()
        self._rmu = _thread.allocate_lock()  # held by whoever reads the socket
        self._skip = {}  # id -> None, or a function of (result, error), for replies nobody waits for
        self._pending = set()  # ids of writes sent without waiting, not yet answered
        self._results = {}  # replies read by another thread than their caller's
        self._levels = {}  # rlock name -> levels this connection holds
        self._pid = os.getpid()
        self.closed = False
        s = _sidecar()
        self.call("corral.hello", {"protocol": s.PROTOCOL, "role": "client", "name": name})

    def _write(self, rid, method, params):
        data = ('{"jsonrpc":"2.0","id":%d,"method":"%s","params":%s}\n'
                % (rid, method, _json_encode(params))).encode("utf-8")
        with self._wmu:
            if self.closed:
                raise _errors.ConnectionLost(message="connection to the corral supervisor closed")
            try:
                self._sendall(data)
            except OSError as e:
                self.closed = True
                raise _errors.ConnectionLost(message="connection to the corral supervisor lost: %s" % e) from e

    def _read(self, spin=0.0):
        """The next message (a dict); the caller holds _rmu. With ``spin``
        (seconds), poll that long for a reply before sleeping in recv: an
        answer that comes within a few microseconds is then read without
        the cost of waking up (most of a round trip's, and twice as much
        when the reply to a write sent without waiting comes first)."""
        buf = self._buf
        while True:
            i = buf.find(b"\n")
            if i >= 0:
                line = buf[:i]
                buf = buf[i + 1:]
                if line.strip():
                    self._buf = buf
                    return _json_decode(line.decode("utf-8"))
                continue
            parts = [buf]
            if spin:
                end = _perf_counter() + spin
                recv = self._recv
                while True:
                    try:
                        data = recv(1 << 16, _DONTWAIT)
                    except BlockingIOError:
                        if _perf_counter() < end:
                            continue
                        break
                    except BaseException:
                        self._buf = b"".join(parts)
                        raise
                    if not data:
                        self._buf = b"".join(parts)
                        self.closed = True
                        raise _errors.ConnectionLost()
                    parts.append(data)
                    if b"\n" in data:
                        break
                if b"\n" in parts[-1]:
                    buf = b"".join(parts)
                    continue
            while True:
                try:
                    data = self._recv(1 << 16)
                except BaseException:
                    self._buf = b"".join(parts)
                    raise
                if not data:
                    self._buf = b"".join(parts)
                    self.closed = True
                    raise _errors.ConnectionLost()
                parts.append(data)
                if b"\n" in data:
                    break
            buf = b"".join(parts)

    def _dispatch(self, msg):
        """Handle a reply nobody in this reading loop waits for."""
        mid = msg.get("id")
        fn = self._skip.pop(mid, _NOBODY)
        if fn is _NOBODY:
            if mid is not None:
                self._results[mid] = msg
            return
        self._pending.discard(mid)
        if not self._pending:
            _dirty.discard(self)
        if fn is not None:
            err = msg.get("error")
            try:
                fn(msg.get("result"), None if err is None else _errors.error_from_wire(err))
            except Exception:
                pass

    def _until(self, rid, spin=0.0):
        results = self._results
        rmu = self._rmu
        while True:
            msg = results.pop(rid, None)
            if msg is None:
                rmu.acquire()
                try:
                    msg = results.pop(rid, None)
                    while msg is None:
                        m = self._read(spin)
                        if m.get("id") == rid:
                            msg = m
                        else:
                            self._dispatch(m)
                finally:
                    rmu.release()
            err = msg.get("error")
            if err is not None:
                raise _errors.error_from_wire(err)
            return msg.get("result")

    def drain(self):
        """Read until every write sent without waiting is answered."""
        while self._pending and not self.closed:
            if self._rmu.acquire(False):
                try:
                    while self._pending:
                        self._dispatch(self._read())
                finally:
                    self._rmu.release()
            else:
                # Its thread is reading (maybe waiting long for a reply of
                # its own): the answers come to it, inline, soon.
                time.sleep(0.0002)

    def call(self, method, params):
        if _dirty:
            _sync_others(self)
        rid = next(self._ids)
        self._write(rid, method, params)
        try:
            return self._until(rid, _SPIN)
        except _errors.RemoteError:
            raise
        except BaseException:
            self._skip[rid] = None
            raise

    def wait_call(self, method, params, undo=None):
        """call() for a request that may wait long. If the wait is
        interrupted (KeyboardInterrupt), the parked request cannot be taken
        back: when its reply comes, ``undo(result)`` gives back what it took
        (a lock, a permit, an item)."""
        if _dirty:
            _sync_others(self)
        rid = next(self._ids)
        self._write(rid, method, params)
        try:
            return self._until(rid, _SPIN)
        except _errors.RemoteError:
            raise
        except BaseException:
            if undo is not None:
                self._skip[rid] = lambda result, error: error is None and undo(result)
            else:
                self._skip[rid] = None
            raise

    def send(self, method, params):
        """Send a request that cannot wait without waiting for its reply."""
        if not _pipelining:
            self.call(method, params)
            return
        if _dirty:
            _sync_others(self)
        rid = next(self._ids)
        self._skip[rid] = _report_later(method, params)
        self._pending.add(rid)
        _dirty.add(self)
        try:
            self._write(rid, method, params)
        except BaseException:
            self._skip.pop(rid, None)
            self._pending.discard(rid)
            raise

    def inject(self, method, params):
        """Send from another thread; the reply is skipped."""
        rid = next(self._ids)
        self._skip[rid] = None
        self._write(rid, method, params)

    def close(self):
        with self._wmu:
            if self.closed:
                return
            self.closed = True
        _dirty.discard(self)
        try:
            self._sock.close()
        except OSError:
            pass

    def __del__(self):
        try:
            if self._pid == os.getpid():
                self.close()
        except Exception:
            pass


_NOBODY = object()
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_perf_counter = time.perf_counter


def _spin_default():
    # Polling for a reply pays only where the supervisor runs on another
    # CPU meanwhile. CORRAL_SPIN_US overrides (0: never poll).
    env = os.environ.get("CORRAL_SPIN_US")
    if env:
        try:
            return max(float(env), 0.0) * 1e-6
        except ValueError:
            pass
    if not _DONTWAIT or (os.cpu_count() or 1) < 2:
        return 0.0
    return 50e-6


_SPIN = _spin_default()


def _default_pipelining():
    # A pool worker answers its task on another connection (the worker's
    # own), which nothing here can order after the task's writes, so its
    # writes wait for their replies; see pipeline_writes().
    role = os.environ.get("CORRAL_PY_ROLE")
    if role == "process":
        return True
    if role == "pool" and getattr(sys.modules.get("corral"), "_worker_flushes_objects", False):
        # _worker.pool_worker_main flushes before each answer.
        return True
    return role is None and not os.environ.get("CORRAL_SOCKET")


_pipelining = _default_pipelining()


def pipeline_writes(on=True):
    """Whether writes that answer nothing are sent without waiting for their
    reply in this process. On in a driver and in a Process child (flushed
    when it exits); off in a pool worker, where a task's writes must be
    handled before its result is sent: a worker that calls flush() before
    each answer may turn it on."""
    global _pipelining
    if not on:
        flush()
    _pipelining = bool(on)

# Connections of this process with writes sent and not yet answered.
_dirty = set()


def _sync_others(me):
    """Before ``me`` sends anything: the writes other threads sent without
    waiting have been handled."""
    for c in list(_dirty):
        if c is not me and c._pid == os.getpid():
            c.drain()


def _report_later(method, params):
    def report(result, error):
        if error is not None:
            try:
                sys.stderr.write("corral: %s to %s failed: %s\n" % (method, params.get("name"), error))
            except Exception:
                pass
    return report


_tls = threading.local()
_main_conn = None
_hooked = False


def _socket_path():
    s = _sidecar()
    path = os.environ.get(s.ENV_SOCKET)
    if not path:
        s.get_client()  # a driver starts its sidecar on first use
        path = (s.supervisor_info() or {}).get("socket")
    if not path:
        raise RuntimeError("corral: the supervisor did not say where its socket is")
    return path


def _conn():
    """The calling thread's connection to the supervisor."""
    c = getattr(_tls, "c", None)
    if c is not None and not c.closed and c._pid == os.getpid():
        return c
    return _new_conn()


def _new_conn():
    global _main_conn, _hooked
    s = _sidecar()
    path = _socket_path()
    t = threading.current_thread()
    name = s._program_name()
    if t is not threading.main_thread():
        name = "%s/%s" % (name, t.name)
    c = _Sync(path, name)
    _tls.c = c
    if t is threading.main_thread():
        _main_conn = c
    if not _hooked:
        _hooked = True
        s.add_shutdown_hook(_at_exit)
    return c


def _at_exit():
    try:
        flush()
    except Exception:
        pass


def flush():
    """Wait until every write this process sent without waiting for its
    reply (queue puts, dict sets …) has been handled by the supervisor. A
    process's are flushed when it exits; a pool worker's should be before
    it answers a task."""
    for c in list(_dirty):
        if c._pid == os.getpid():
            c.drain()


_client = _conn
_owner_client = _conn


def _call(method, params):
    return _conn().call(method, params)


def _releaser(method, name):
    """An undo for an acquire given up: release what it took."""
    c = _conn()

    def undo(result):
        if result.get("acquired"):
            c.inject(method, {"name": name})
    return undo


# ---------------------------------------------------------------------------
# Names and creation

_token = os.urandom(3).hex()
_counter = itertools.count(1)
_token_pid = os.getpid()


def _new_name(kind):
    global _token, _token_pid
    pid = os.getpid()
    if pid != _token_pid:
        _token, _token_pid = os.urandom(3).hex(), pid
    return "py.%s.%d.%s.%d" % (kind, pid, _token, next(_counter))


def _create(kind, name, params=None):
    p = {"kind": kind, "name": name}
    if params:
        p["params"] = params
    try:
        _call("object.create", p)
    except RemoteError as e:
        raise _translate(e) from None


# ---------------------------------------------------------------------------
# Values on the wire
#
# JSON scalars, lists and dicts with string keys travel as plain JSON, so
# Go and shell peers can read them; shared objects travel as handles;
# anything else (tuples, bytes, sets, instances …) is pickled inside an
# envelope, {"$pickle": BASE64}, opaque to other languages.

_PLAIN = (str, int, bool, type(None))
_INF = float("inf")


def _codec():
    try:
        from . import _codec as c
    except ImportError:
        return None
    return c


def _pickled(obj):
    return {"$pickle": base64.b64encode(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)).decode("ascii")}


def encode(obj):
    """A JSON-able form of ``obj`` for a queue, pipe, dict or list."""
    t = type(obj)
    if t in _PLAIN:
        return obj
    if t is float:
        if obj - obj == 0.0:  # finite
            return obj
        return _pickled(obj)
    if t is list:
        return [encode(x) for x in obj]
    if t is dict:
        out = {}
        for k, v in obj.items():
            if type(k) is not str or k[:1] == "$":
                return _pickled(obj)
            out[k] = encode(v)
        return out
    h = getattr(t, "__corral_handle__", None)
    if h is not None:
        return h(obj)
    return _pickled(obj)


def decode(j):
    """The Python value of a JSON value made by :func:`encode` (or sent by
    any peer)."""
    t = type(j)
    if t is list:
        return [decode(x) for x in j]
    if t is dict:
        if "$pickle" in j and len(j) == 1:
            return pickle.loads(base64.b64decode(j["$pickle"]))
        if "$corral" in j:
            obj = from_handle(j)
            if obj is not None:
                return obj
            c = _codec()
            if c is not None and hasattr(c, "decode"):
                return c.decode(j)
            return j
        return {k: decode(v) for k, v in j.items()}
    return j


def encode_key(k):
    """A dict key as the supervisor takes it: a JSON scalar, or an array for
    a tuple; other hashable keys are pickled into ["$pickle", BASE64]."""
    t = type(k)
    if t in _PLAIN:
        return k
    if t is float:
        if k - k == 0.0:
            return k
    elif t is tuple:
        return [encode_key(x) for x in k]
    hash(k)  # unhashable: TypeError, as Python
    return ["$pickle", base64.b64encode(pickle.dumps(k, pickle.HIGHEST_PROTOCOL)).decode("ascii")]


def decode_key(j):
    if type(j) is list:
        if len(j) == 2 and j[0] == "$pickle" and type(j[1]) is str:
            return pickle.loads(base64.b64decode(j[1]))
        return tuple(decode_key(x) for x in j)
    return j


# ---------------------------------------------------------------------------
# Handles

_KINDS = {}  # kind -> class rebuilt from a handle


def handle_of(obj):
    """The handle dict of a shared object, or None."""
    h = getattr(type(obj), "__corral_handle__", None)
    return h(obj) if h is not None else None


def from_handle(h):
    """The proxy for a handle dict ``{"$corral": KIND, "name": NAME}`` (None
    when the kind is unknown to this package)."""
    kind = h.get("$corral")
    name = h.get("name")
    if not isinstance(name, str):
        return None
    if kind not in _KINDS:
        _load_all()
    cls = _KINDS.get(kind)
    if cls is None:
        return None
    return cls._from_handle(h)


def _load_all():
    from . import _ctypes, _pipe, _manager  # noqa: F401  (they register kinds)


def _register(*kinds):
    def deco(cls):
        for k in kinds:
            _KINDS[k] = cls
        return cls
    return deco


def _rebuild(cls, name, state):
    obj = cls.__new__(cls)
    obj._name = name
    obj._setstate(state)
    return obj


class SharedObject(object):
    """Base of every proxy: a kind and a name at the supervisor."""

    _kind = None
    _family = None

    def __corral_handle__(self):
        return {"$corral": self._kind, "name": self._name}

    to_json = __corral_handle__

    @property
    def name(self):
        return self._name

    def __reduce__(self):
        return (_rebuild, (type(self), self._name, self._getstate()))

    def _getstate(self):
        return None

    def _setstate(self, state):
        pass

    @classmethod
    def _from_handle(cls, h):
        obj = cls.__new__(cls)
        obj._name = h["name"]
        obj._setstate(cls._state_from_handle(h))
        return obj

    @classmethod
    def _state_from_handle(cls, h):
        return None

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self._name)


# ---------------------------------------------------------------------------
# Errors


def _translate(e, key=None):
    """The Python exception for a supervisor error (already the right class
    for most codes: queue.Empty, queue.Full, EOFError …)."""
    if e.code == _errors.VALUE_ERROR:
        t = (e.data or {}).get("type") if isinstance(e.data, dict) else None
        if t == "KeyError":
            return KeyError(key) if key is not None else KeyError(e.message)
        if t == "IndexError":
            return IndexError(e.message)
        if t == "TypeError":
            return TypeError(e.message)
        if t == "OverflowError":
            return OverflowError(e.message)
        if t == "AttributeError":
            return AttributeError(e.message)
        return ValueError(e.message)
    if e.code == _errors.NOT_OWNER:
        return RuntimeError(e.message)
    if e.code == _errors.CLOSED:
        return ValueError(e.message)
    return e


def _wait_params(block, timeout):
    if not block:
        return {"block": False}
    if timeout is None:
        return {}
    if timeout < 0:
        timeout = 0
    return {"timeout": timeout}


# ---------------------------------------------------------------------------
# Queues


def _requeue(name):
    """An undo for a get given up: put the item back (at the tail)."""
    c = _conn()

    def undo(result):
        c.inject("queue.put", {"name": name, "item": result["item"]})
    return undo


@_register("queue")
class Queue(SharedObject):
    """multiprocessing.Queue: a FIFO shared by every process of the
    program; it may be passed to Process and Pool tasks alike."""

    _kind = "queue"
    _pipelined = True

    def __init__(self, maxsize=0, *, ctx=None, name=None):
        if maxsize is None or maxsize < 0:
            maxsize = 0
        self._name = name or _new_name(self._kind)
        self._maxsize = int(maxsize)
        self._closed = False
        _create(self._kind, self._name, {"maxsize": self._maxsize} if self._maxsize else None)

    def _getstate(self):
        return self._maxsize

    def _setstate(self, state):
        self._maxsize = state or 0
        self._closed = False

    def _check_closed(self):
        if self._closed:
            raise ValueError("Queue %r is closed" % (self,))

    def put(self, obj, block=True, timeout=None):
        if self._closed:
            self._check_closed()
        p = {"name": self._name, "item": encode(obj)}
        if not self._maxsize and self._pipelined:
            # An unbounded queue takes every put at once: send it without
            # waiting, as multiprocessing's feeder thread does.
            _conn().send("queue.put", p)
            return
        if not block:
            p["block"] = False
        elif timeout is not None:
            p["timeout"] = timeout if timeout > 0 else 0
        try:
            _conn().call("queue.put", p)
        except RemoteError as e:
            raise _translate(e) from None

    def get(self, block=True, timeout=None):
        if self._closed:
            self._check_closed()
        p = {"name": self._name}
        try:
            if not block:
                p["block"] = False
                r = _client().call("queue.get", p)
            else:
                if timeout is not None:
                    p["timeout"] = timeout if timeout > 0 else 0
                r = _conn().wait_call("queue.get", p, _requeue(self._name))
        except RemoteError as e:
            raise _translate(e) from None
        item = r["item"]
        if type(item) in _PLAIN:
            return item
        return decode(item)

    def put_nowait(self, obj):
        return self.put(obj, False)

    def get_nowait(self):
        return self.get(False)

    def qsize(self):
        return _call("queue.qsize", {"name": self._name})["size"]

    def empty(self):
        return _call("queue.empty", {"name": self._name})["empty"]

    def full(self):
        return _call("queue.full", {"name": self._name})["full"]

    def close(self):
        """This process will put and get no more (as multiprocessing's
        close; the queue stays usable by other processes)."""
        self._closed = True

    def join_thread(self):
        pass

    def cancel_join_thread(self):
        pass

    def shutdown(self):
        """Close the queue for everyone (Python 3.13's Queue.shutdown):
        puts fail, gets drain what is left and then fail."""
        _call("queue.close", {"name": self._name})

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self._name)


@_register("joinablequeue")
class JoinableQueue(Queue):
    """multiprocessing.JoinableQueue: a Queue with task_done() and join()."""

    _kind = "joinablequeue"

    def task_done(self):
        try:
            _client().call("queue.task_done", {"name": self._name})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise ValueError("task_done() called too many times") from None
            raise _translate(e) from None

    def join(self):
        try:
            _conn().wait_call("queue.join", {"name": self._name})
        except RemoteError as e:
            raise _translate(e) from None


@_register("simplequeue")
class SimpleQueue(SharedObject):
    """multiprocessing.SimpleQueue: put, get, empty, close."""

    _kind = "simplequeue"

    def __init__(self, *, ctx=None, name=None):
        self._name = name or _new_name(self._kind)
        self._closed = False
        _create(self._kind, self._name)

    def _setstate(self, state):
        self._closed = False

    def put(self, obj):
        if self._closed:
            raise ValueError("Queue %r is closed" % (self,))
        try:
            _conn().send("queue.put", {"name": self._name, "item": encode(obj)})
        except RemoteError as e:
            raise _translate(e) from None

    def get(self):
        if self._closed:
            raise ValueError("Queue %r is closed" % (self,))
        try:
            r = _conn().wait_call("queue.get", {"name": self._name}, _requeue(self._name))
        except RemoteError as e:
            raise _translate(e) from None
        return decode(r["item"])

    def empty(self):
        return _call("queue.empty", {"name": self._name})["empty"]

    def close(self):
        self._closed = True


# ---------------------------------------------------------------------------
# Locks

# name -> the connection that took a Lock in this process, so that another
# thread of the process can release it (as multiprocessing.Lock allows).
_lock_holders = {}


def _acquire(conn, method, name, block, timeout):
    p = {"name": name}
    try:
        if not block:
            p["block"] = False
            return conn.call(method, p)["acquired"]
        if timeout is not None:
            p["timeout"] = timeout if timeout > 0 else 0
        family = method[:method.index(".")]
        return conn.wait_call(method, p, _releaser(family + ".release", name))["acquired"]
    except RemoteError as e:
        raise _translate(e) from None


@_register("lock")
class _Acquirable(object):
    """What locks and semaphores share: the with statement, and equality by
    kind and name (two proxies of one lock are the same lock)."""

    __slots__ = ()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *args):
        self.release()

    def __eq__(self, other):
        return isinstance(other, SharedObject) and other._kind == self._kind and other._name == self._name

    def __hash__(self):
        return hash((self._kind, self._name))


class Lock(_Acquirable, SharedObject):
    """multiprocessing.Lock. acquire(block=True, timeout=None) -> bool;
    release() raises ValueError when the lock is not held by this process."""

    _kind = "lock"

    def __init__(self, *, ctx=None, name=None):
        self._name = name or _new_name(self._kind)
        _create(self._kind, self._name)

    def acquire(self, block=True, timeout=None):
        conn = _conn()
        ok = _acquire(conn, "lock.acquire", self._name, block, timeout)
        if ok:
            _lock_holders[self._name] = conn
        return ok

    def release(self):
        name = self._name
        conn = _conn()
        holder = _lock_holders.get(name)
        if holder is not None and holder is not conn and not holder.closed:
            # Held by another thread of this process: release it on that
            # thread's connection, as multiprocessing.Lock lets any thread.
            if _lock_holders.pop(name, None) is holder:
                holder.inject("lock.release", {"name": name})
                return
        if holder is conn:
            # Held by this thread: the release cannot fail, so it is sent
            # without waiting (see _Sync).
            _lock_holders.pop(name, None)
            conn.send("lock.release", {"name": name})
            return
        try:
            conn.call("lock.release", {"name": name})
        except RemoteError as e:
            if e.code == _errors.NOT_OWNER:
                raise ValueError("semaphore or lock released too many times") from None
            raise _translate(e) from None

    def locked(self):
        return _call("lock.locked", {"name": self._name})["locked"]

    def __repr__(self):
        try:
            state = "locked" if self.locked() else "unlocked"
        except Exception:
            state = "unknown"
        return "<Lock(owner=%s) %s>" % (state if state != "locked" else "SomeOtherProcess", self._name)


@_register("rlock")
class RLock(Lock):
    """multiprocessing.RLock: the holding thread may acquire it again; each
    acquire needs its release."""

    _kind = "rlock"

    def acquire(self, block=True, timeout=None):
        conn = _conn()
        ok = _acquire(conn, "lock.acquire", self._name, block, timeout)
        if ok:
            levels = conn._levels
            levels[self._name] = levels.get(self._name, 0) + 1
        return ok

    def release(self):
        conn = _conn()
        levels = conn._levels
        n = levels.get(self._name, 0)
        if n > 0:
            # A level this thread holds: the release cannot fail, so it is
            # sent without waiting (see _Sync).
            if n == 1:
                del levels[self._name]
            else:
                levels[self._name] = n - 1
            conn.send("lock.release", {"name": self._name})
            return
        try:
            conn.call("lock.release", {"name": self._name})
        except RemoteError as e:
            if e.code == _errors.NOT_OWNER:
                raise AssertionError("attempt to release recursive lock not owned by thread") from None
            raise _translate(e) from None

    def __repr__(self):
        return "<RLock %s>" % (self._name,)


# ---------------------------------------------------------------------------
# Semaphores


@_register("semaphore")
class Semaphore(_Acquirable, SharedObject):
    """multiprocessing.Semaphore(value=1)."""

    _kind = "semaphore"

    def __init__(self, value=1, *, ctx=None, name=None):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._name = name or _new_name(self._kind)
        _create(self._kind, self._name, {"value": int(value)})

    def acquire(self, block=True, timeout=None):
        return _acquire(_client(), "semaphore.acquire", self._name, block, timeout)

    def release(self):
        if self._kind == "semaphore":
            # An unbounded semaphore's release cannot fail: sent without
            # waiting (see _Sync).
            _conn().send("semaphore.release", {"name": self._name})
            return
        try:
            _client().call("semaphore.release", {"name": self._name})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise ValueError("semaphore or lock released too many times") from None
            raise _translate(e) from None

    def get_value(self):
        return _call("semaphore.value", {"name": self._name})["value"]

    def __repr__(self):
        try:
            v = self.get_value()
        except Exception:
            v = "unknown"
        return "<%s(value=%s) %s>" % (type(self).__name__, v, self._name)


@_register("boundedsemaphore")
class BoundedSemaphore(Semaphore):
    """multiprocessing.BoundedSemaphore(value=1): release() past the initial
    value raises ValueError."""

    _kind = "boundedsemaphore"


# ---------------------------------------------------------------------------
# Conditions


@_register("condition")
class Condition(SharedObject):
    """multiprocessing.Condition(lock=None): over its own RLock, or over the
    Lock or RLock given."""

    _kind = "condition"

    def __init__(self, lock=None, *, ctx=None, name=None):
        self._name = name or _new_name(self._kind)
        params = None
        if lock is not None:
            if not isinstance(lock, Lock):
                raise TypeError("corral: a Condition's lock must be a corral Lock or RLock, not %s"
                                % type(lock).__name__)
            params = {"lock": lock._name}
        self._lock = lock
        _create(self._kind, self._name, params)

    def _getstate(self):
        return self._lock

    def _setstate(self, state):
        self._lock = state

    def acquire(self, block=True, timeout=None):
        return _acquire(_owner_client(), "condition.acquire", self._name, block, timeout)

    def release(self):
        try:
            _owner_client().call("condition.release", {"name": self._name})
        except RemoteError as e:
            if e.code == _errors.NOT_OWNER:
                raise AssertionError("attempt to release recursive lock not owned by thread") from None
            raise _translate(e) from None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *args):
        self.release()

    def wait(self, timeout=None):
        p = {"name": self._name}
        if timeout is not None:
            p["timeout"] = timeout if timeout > 0 else 0
        conn = _conn()
        if _dirty:
            _sync_others(conn)
        rid = next(conn._ids)
        conn._write(rid, "condition.wait", p)
        try:
            try:
                r = conn._until(rid)
            except _errors.RemoteError:
                raise
            except BaseException:
                # Interrupted (KeyboardInterrupt): as threading.Condition,
                # hold the lock again before the exception goes on. The wait
                # stays parked until notified, so wake it (a spurious wakeup
                # for the other waiters, which conditions allow).
                self._wake_all()
                conn._until(rid)
                raise
        except _errors.RemoteError as e:
            if e.code == _errors.NOT_OWNER:
                raise RuntimeError("cannot wait on un-acquired lock") from None
            raise _translate(e) from None
        return r["notified"]

    def _wake_all(self):
        """notify_all from a connection of its own."""
        s = _sidecar()
        c = _Sync(_socket_path(), "%s/wake" % s._program_name())
        try:
            c.call("condition.acquire", {"name": self._name})
            c.call("condition.notify_all", {"name": self._name})
            c.call("condition.release", {"name": self._name})
        finally:
            c.close()

    def wait_for(self, predicate, timeout=None):
        result = predicate()
        if result:
            return result
        if timeout is not None:
            endtime = time.monotonic() + timeout
        else:
            endtime = None
            waittime = None
        while not result:
            if endtime is not None:
                waittime = endtime - time.monotonic()
                if waittime <= 0:
                    break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n=1):
        try:
            _owner_client().call("condition.notify", {"name": self._name, "n": n})
        except RemoteError as e:
            if e.code == _errors.NOT_OWNER:
                raise RuntimeError("cannot notify on un-acquired lock") from None
            raise _translate(e) from None

    def notify_all(self):
        try:
            _owner_client().call("condition.notify_all", {"name": self._name})
        except RemoteError as e:
            if e.code == _errors.NOT_OWNER:
                raise RuntimeError("cannot notify on un-acquired lock") from None
            raise _translate(e) from None

    notifyAll = notify_all

    def __repr__(self):
        return "<Condition %s>" % (self._name,)


# ---------------------------------------------------------------------------
# Events


@_register("event")
class Event(SharedObject):
    """multiprocessing.Event."""

    _kind = "event"

    def __init__(self, *, ctx=None, name=None):
        self._name = name or _new_name(self._kind)
        _create(self._kind, self._name)

    def is_set(self):
        return _call("event.is_set", {"name": self._name})["set"]

    isSet = is_set

    def set(self):
        _conn().send("event.set", {"name": self._name})

    def clear(self):
        _conn().send("event.clear", {"name": self._name})

    def wait(self, timeout=None):
        p = {"name": self._name}
        if timeout is not None:
            p["timeout"] = timeout if timeout > 0 else 0
        return _conn().wait_call("event.wait", p)["set"]

    def __repr__(self):
        try:
            state = "set" if self.is_set() else "unset"
        except Exception:
            state = "unknown"
        return "<Event at %#x %s>" % (id(self), state)


# ---------------------------------------------------------------------------
# Barriers


@_register("barrier")
class Barrier(SharedObject):
    """multiprocessing.Barrier(parties, action=None, timeout=None).

    With an ``action``, a wait passes two supervisor barriers: the party
    that arrives last runs the action between them, so no party returns
    before it has run (as threading.Barrier)."""

    _kind = "barrier"

    def __init__(self, parties, action=None, timeout=None, *, ctx=None, name=None):
        if parties < 1:
            raise ValueError("parties must be >= 1")
        self._name = name or _new_name(self._kind)
        self._parties = int(parties)
        self._action = action
        self._timeout = timeout
        params = {"parties": self._parties}
        if timeout is not None and timeout > 0:
            params["timeout"] = timeout
        _create(self._kind, self._name, params)
        if action is not None:
            _create(self._kind, self._name + ".action", params)

    def _getstate(self):
        return (self._parties, self._action, self._timeout)

    def _setstate(self, state):
        if state is None:
            state = (None, None, None)
        self._parties, self._action, self._timeout = state

    def wait(self, timeout=None):
        p = {"name": self._name}
        if timeout is not None:
            p["timeout"] = timeout if timeout > 0 else 0
        c = _client()
        i = c.call("barrier.wait", p)["index"]
        if self._action is not None:
            p["name"] = self._name + ".action"
            if i == self.parties - 1:
                try:
                    self._action()
                except BaseException:
                    self.abort()
                    raise
            c.call("barrier.wait", p)
        return i

    def reset(self):
        _call("barrier.reset", {"name": self._name})
        if self._action is not None:
            _call("barrier.reset", {"name": self._name + ".action"})

    def abort(self):
        _call("barrier.abort", {"name": self._name})
        if self._action is not None:
            _call("barrier.abort", {"name": self._name + ".action"})

    @property
    def parties(self):
        if self._parties is None:
            self._parties = _call("barrier.parties", {"name": self._name})["parties"]
        return self._parties

    @property
    def n_waiting(self):
        return _call("barrier.n_waiting", {"name": self._name})["n_waiting"]

    @property
    def broken(self):
        return _call("barrier.broken", {"name": self._name})["broken"]

    def __repr__(self):
        return "<Barrier %s parties=%s>" % (self._name, self._parties)

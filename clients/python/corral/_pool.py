"""Pool and its results, run by the corral supervisor.

A Pool is a supervisor pool (``pool.create``) of this interpreter running
the shim's worker loop (_worker), with the protocol on fds 3/4 so that the
workers' prints reach the program's stdout. Functions travel by reference,
arguments and results as pickles in envelopes (_codec). ``Pool(N,
command=[...])`` runs any command's rpc workers instead; functions are then
names and values plain JSON.

Results come back on the connection's reader thread and are handed over
without another thread, except when a callback was given: callbacks run
on one callback thread, in completion order, as multiprocessing's result
handler runs them.
"""

import builtins
import collections
import itertools
import os
import queue
import sys
import threading
import _thread
import warnings

from . import _codec, _sidecar, _spawn, _util, _zygote
from ._errors import RemoteError, TASK_FAILED, error_from_wire
from ._exc import RemoteTraceback, TimeoutError

__all__ = ["Pool", "AsyncResult", "ApplyResult", "MapResult", "IMapIterator", "IMapUnorderedIterator"]

RUN, CLOSE, TERMINATE = "RUN", "CLOSE", "TERMINATE"

_pool_seq = itertools.count(1)
_map_seq = itertools.count(1)
_dumps = _codec.dumps
_loads = _codec.loads


# -- errors -----------------------------------------------------------------

def convert_error(e):
    """The exception to raise in the driver for an error reply: the task's
    own exception (unpickled, or rebuilt from a builtin type name) with the
    remote traceback as its cause, else the RemoteError itself."""
    if not isinstance(e, RemoteError):
        return e
    d = e.data if isinstance(e.data, dict) else {}
    exc = None
    v = d.get("value")
    if v is not None:
        try:
            exc = _loads(v)
        except Exception:
            exc = None
        if not isinstance(exc, BaseException):
            exc = None
    if exc is None and e.code == TASK_FAILED:
        cls = getattr(builtins, d.get("type") or "", None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                exc = cls(d.get("message", ""))
            except Exception:
                exc = None
    if exc is None:
        return e
    tb = d.get("traceback")
    if tb:
        exc.__cause__ = RemoteTraceback('\n"""\n%s"""' % tb)
    return exc


# -- callbacks ----------------------------------------------------------------

_cb_queue = None
_cb_lock = threading.Lock()


def _callback_loop(q):
    while True:
        item = q.get()
        if item is None:
            return
        fn, arg = item
        try:
            fn(arg)
        except Exception:
            import traceback
            sys.stderr.write("corral: exception in a pool callback:\n")
            traceback.print_exc()


def run_callback(fn, arg):
    """Run fn(arg) on the callback thread."""
    global _cb_queue
    q = _cb_queue
    if q is None:
        with _cb_lock:
            q = _cb_queue
            if q is None:
                q = queue.SimpleQueue()
                threading.Thread(target=_callback_loop, args=(q,), name="corral-callbacks", daemon=True).start()
                _cb_queue = q
    q.put((fn, arg))


# -- results ------------------------------------------------------------------

class ApplyResult(object):
    """The result of apply_async (multiprocessing.pool.AsyncResult)."""

    __slots__ = ("_pool", "_lock", "_done", "_success", "_value", "_callback", "_error_callback", "__weakref__")

    def __init__(self, pool, callback=None, error_callback=None):
        self._pool = pool
        self._lock = _thread.allocate_lock()
        self._lock.acquire()
        self._done = False
        self._success = None
        self._value = None
        self._callback = callback
        self._error_callback = error_callback

    def ready(self):
        """Whether the call has completed."""
        return self._done

    def successful(self):
        """Whether the call completed without raising (ValueError if not
        ready)."""
        if not self._done:
            raise ValueError("{0!r} not ready".format(self))
        return self._success

    def wait(self, timeout=None):
        """Wait until the result is available or ``timeout`` passes."""
        if self._done:
            return
        if timeout is None:
            got = self._lock.acquire()
        else:
            got = self._lock.acquire(True, max(0.0, timeout))
        if got:
            self._lock.release()

    def get(self, timeout=None):
        """The result; raises the task's exception, or TimeoutError when it
        is not ready within ``timeout`` seconds."""
        self.wait(timeout)
        if not self._done:
            raise TimeoutError
        if self._success:
            return self._value
        raise self._value

    def _set(self, success, value):
        self._success = success
        self._value = value
        cb = self._callback if success else self._error_callback
        if cb is not None:
            run_callback(self._finish_with_callback, cb)
            return
        self._finish()

    def _finish_with_callback(self, cb):
        try:
            cb(self._value)
        finally:
            self._finish()

    def _finish(self):
        self._done = True
        self._pool = None
        self._lock.release()


AsyncResult = ApplyResult


class MapResult(ApplyResult):
    """The result of map_async/starmap_async."""
    __slots__ = ()


class IMapIterator(object):
    """The iterator imap returns: results in input order."""

    _ordered = True

    def __init__(self, pool, name):
        self._pool = pool
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._items = collections.deque()
        self._finished = False
        self._decode = pool._decode_chunk
        # Raised after the results: the iterable itself raised it.
        self._tail_error = None

    def __iter__(self):
        return self

    def next(self, timeout=None):
        with self._cond:
            while not self._items:
                if self._finished:
                    self._pool = None
                    raise StopIteration from None
                if not self._cond.wait(timeout) and timeout is not None and not self._items:
                    if self._finished:
                        continue
                    raise TimeoutError from None
            ok, value = self._items.popleft()
        if ok:
            return value
        raise value

    __next__ = next

    # Called on the reader thread.
    def _results(self, params):
        err = params.get("error")
        if err is not None:
            entries = [(False, convert_error(error_from_wire(err)))]
        else:
            try:
                entries = [(True, v) for v in self._decode(params.get("results") or [])]
            except Exception as e:
                entries = [(False, e)]
        with self._cond:
            self._items.extend(entries)
            self._cond.notify_all()

    def _done(self):
        with self._cond:
            if self._tail_error is not None:
                self._items.append((False, self._tail_error))
                self._tail_error = None
            self._finished = True
            self._cond.notify_all()

    def _fail(self, exc):
        with self._cond:
            self._items.append((False, exc))
            self._finished = True
            self._cond.notify_all()

    def __del__(self):
        try:
            if not self._finished and self._pool is not None:
                self._pool._conn.call_async("map.cancel", {"map": self._name})
        except Exception:
            pass


class IMapUnorderedIterator(IMapIterator):
    """The iterator imap_unordered returns: results as they complete."""
    _ordered = False


# -- streams: map.results / map.done routing ---------------------------------------

_streams = {}
_routed = set()


def _route(conn):
    if id(conn) in _routed:
        return
    _routed.add(id(conn))

    def on_results(params):
        it = _streams.get(params.get("map")) if isinstance(params, dict) else None
        if it is not None:
            it._results(params)

    def on_done(params):
        it = _streams.pop(params.get("map"), None) if isinstance(params, dict) else None
        if it is not None:
            conn.unhold()
            it._done()

    conn.on_notification("map.results", on_results)
    conn.on_notification("map.done", on_done)


# -- the pool -----------------------------------------------------------------

class Pool(object):
    """multiprocessing.Pool, run by corral.

    ``Pool(processes=None, initializer=None, initargs=(),
    maxtasksperchild=None)`` as in multiprocessing; ``command=[...]``
    makes a pool of any rpc worker program instead (functions are then
    names, values JSON). ``task_timeout`` (seconds) and ``retries`` are
    passed to the supervisor (PROTOCOL §5.1.1)."""

    _state = None

    def __init__(self, processes=None, initializer=None, initargs=(), maxtasksperchild=None,
                 context=None, *, command=None, env=None, cwd=None, stdio=None,
                 task_timeout=None, retries=None, hello_timeout=None):
        if processes is None:
            processes = os.cpu_count() or 1
        if processes < 1:
            raise ValueError("Number of processes must be at least 1")
        if maxtasksperchild is not None:
            if not isinstance(maxtasksperchild, int) or maxtasksperchild <= 0:
                raise ValueError("maxtasksperchild must be a positive int or None")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._processes = processes
        self._python = command is None
        name = "py-%d-pool-%d" % (os.getpid(), next(_pool_seq))
        spec = {"name": name, "workers": processes, "cwd": cwd or os.getcwd(), "output": "inherit"}
        if self._python:
            exe, args = _spawn.command()
            extra = {"CORRAL_PY_POOL_NAME": "SpawnPoolWorker"}
            extra.update(_util.child_log_env())
            if initializer is not None:
                extra[_spawn.ENV_INIT] = _spawn.encode((initializer, tuple(initargs)))
            if env:
                extra.update(env)
            forked = _zygote.worker_command()
            if forked is not None:
                exe, args = forked
            spec.update(command=exe, args=args, env=_spawn.child_env("pool", extra), stdio="fds")
        else:
            if isinstance(command, str):
                command = [command]
            command = list(command)
            if not command:
                raise ValueError("command must name a program")
            spec.update(command=command[0], args=[str(a) for a in command[1:]])
            if env:
                spec["env"] = dict(env)
            if stdio:
                spec["stdio"] = stdio
        if maxtasksperchild:
            spec["max_tasks_per_worker"] = maxtasksperchild
        if task_timeout:
            spec["task_timeout"] = task_timeout
        if retries:
            spec["retries"] = retries
        if hello_timeout:
            spec["hello_timeout"] = hello_timeout
        conn = _sidecar.get_client()
        _route(conn)
        self._conn = conn
        self._name = name
        created = conn.call("pool.create", spec)
        self._functions = created.get("functions") or []
        self._state = RUN

    # -- helpers -------------------------------------------------------

    def _check_running(self):
        if self._state != RUN:
            raise ValueError("Pool not running")

    def _encode_call(self, func, args, kwds):
        """fn and args of a pool.submit/pool.apply for func(*args, **kwds)."""
        if self._python:
            ref = _codec.fn_ref(func)
            if ref is None:
                return "py:", [_dumps((func, tuple(args), dict(kwds or {})))], None
            return "py:" + ref, [_dumps((tuple(args), dict(kwds or {})))], None
        return _plain_name(func), _codec.to_json(list(args)), (_codec.to_json(dict(kwds)) if kwds else None)

    def _decode_result(self, r):
        return _loads(r) if self._python else _codec.from_json(r)

    def _decode_chunk(self, results):
        if self._python:
            out = []
            for env in results:
                out.extend(_loads(env))
            return out
        return _codec.from_json(results)

    def _map_params(self, func, iterable, chunksize, star):
        if not hasattr(iterable, "__len__"):
            iterable = list(iterable)
        if self._python:
            ref = _codec.fn_ref(func)
            n = len(iterable)
            if chunksize is None or chunksize < 1:
                chunksize = 1
            items = []
            for i in range(0, n, chunksize):
                part = iterable[i:i + chunksize] if isinstance(iterable, (list, tuple)) else \
                    list(itertools.islice(iterable, i, i + chunksize))
                chunk = [tuple(a) for a in part] if star else list(part)
                items.append(_dumps(chunk if ref is not None else (func, chunk)))
            fn = ("pystarmap:" if star else "pymap:") + (ref or "")
            return {"pool": self._name, "fn": fn, "items": items, "chunksize": 1}
        params = {"pool": self._name, "fn": _plain_name(func),
                  "items": _codec.to_json([list(a) for a in iterable] if star else list(iterable))}
        if star:
            params["star"] = True
        if chunksize:
            params["chunksize"] = chunksize
        return params

    def _default_chunksize(self, iterable):
        if not hasattr(iterable, "__len__"):
            iterable = list(iterable)
        chunksize, extra = divmod(len(iterable), self._processes * 4)
        if extra:
            chunksize += 1
        return iterable, chunksize

    # -- apply ---------------------------------------------------------

    def apply(self, func, args=(), kwds={}):
        """Call func(*args, **kwds) in a worker and return its result."""
        self._check_running()
        fn, a, kw = self._encode_call(func, args, kwds)
        params = {"pool": self._name, "fn": fn, "args": a}
        if kw:
            params["kwargs"] = kw
        try:
            r = self._conn.call("pool.apply", params)
        except RemoteError as e:
            exc = convert_error(e)
        else:
            return self._decode_result(r.get("result"))
        raise exc

    def apply_async(self, func, args=(), kwds={}, callback=None, error_callback=None):
        """Call func(*args, **kwds) in a worker; returns an AsyncResult."""
        self._check_running()
        fn, a, kw = self._encode_call(func, args, kwds)
        params = {"pool": self._name, "fn": fn, "args": a}
        if kw:
            params["kwargs"] = kw
        result = ApplyResult(self, callback, error_callback)
        python = self._python

        def done(r, err):
            if err is not None:
                result._set(False, convert_error(err))
                return
            try:
                v = r.get("result")
                v = _loads(v) if python else _codec.from_json(v)
            except Exception as e:
                result._set(False, e)
                return
            result._set(True, v)

        self._conn.call_async("pool.apply", params, done)
        return result

    # -- map -------------------------------------------------------------

    def map(self, func, iterable, chunksize=None):
        """[func(x) for x in iterable], computed in the workers."""
        return self._map_async(func, iterable, chunksize, False, None, None).get()

    def starmap(self, func, iterable, chunksize=None):
        """[func(*args) for args in iterable], computed in the workers."""
        return self._map_async(func, iterable, chunksize, True, None, None).get()

    def map_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        return self._map_async(func, iterable, chunksize, False, callback, error_callback)

    def starmap_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        return self._map_async(func, iterable, chunksize, True, callback, error_callback)

    def _map_async(self, func, iterable, chunksize, star, callback, error_callback):
        self._check_running()
        if chunksize is None and self._python:
            iterable, chunksize = self._default_chunksize(iterable)
        result = MapResult(self, callback, error_callback)
        params = self._map_params(func, iterable, chunksize, star)
        if not params["items"]:
            result._set(True, [])
            return result
        decode = self._decode_chunk

        def done(r, err):
            if err is not None:
                result._set(False, convert_error(err))
                return
            try:
                v = decode(r.get("results") or [])
            except Exception as e:
                result._set(False, e)
                return
            result._set(True, v)

        self._conn.call_async("pool.map", params, done)
        return result

    def imap(self, func, iterable, chunksize=1):
        """An iterator of func(x) for x in iterable, in order, as they
        become available."""
        return self._imap(func, iterable, chunksize, True, IMapIterator)

    def imap_unordered(self, func, iterable, chunksize=1):
        """As imap, in completion order."""
        return self._imap(func, iterable, chunksize, False, IMapUnorderedIterator)

    def _imap(self, func, iterable, chunksize, ordered, cls):
        self._check_running()
        if chunksize < 1:
            raise ValueError("Chunksize must be 1+, not {0:n}".format(chunksize))
        tail = None
        if not hasattr(iterable, "__len__"):
            # An iterable that raises: its items so far are mapped, then
            # the iterator raises its error, as multiprocessing's does.
            items = []
            try:
                for x in iterable:
                    items.append(x)
            except Exception as e:
                tail = e
                # multiprocessing loses the chunk the iterable failed in.
                del items[len(items) - len(items) % chunksize:]
            iterable = items
        params = self._map_params(func, iterable, chunksize, False)
        name = "imap-%d" % next(_map_seq)
        params["map"] = name
        params["ordered"] = ordered
        it = cls(self, name)
        it._tail_error = tail
        _streams[name] = it
        conn = self._conn
        # Keep a reader on the connection until the stream's map.done.
        conn.hold()

        def started(r, err):
            if err is not None:
                if _streams.pop(name, None) is not None:
                    conn.unhold()
                it._fail(convert_error(err))

        try:
            conn.call_async("pool.imap", params, started)
        except BaseException:
            _streams.pop(name, None)
            conn.unhold()
            raise
        return it

    # -- lifecycle ---------------------------------------------------------

    def close(self):
        """No more tasks; the workers exit once the pending ones are done."""
        if self._state == RUN:
            self._state = CLOSE
            self._conn.call("pool.close", {"pool": self._name})

    def terminate(self):
        """Stop the workers now; pending tasks fail."""
        if self._state is None:
            return
        if self._state != TERMINATE:
            self._state = TERMINATE
            try:
                self._conn.call("pool.terminate", {"pool": self._name})
            except RemoteError:
                if not self._conn.closed:
                    raise

    def join(self):
        """Wait for the pending tasks of a closed or terminated pool."""
        if self._state == RUN:
            raise ValueError("Pool is still running")
        if self._state is None:
            return
        self._conn.call("pool.join", {"pool": self._name})

    def __enter__(self):
        self._check_running()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.terminate()

    def __reduce__(self):
        raise NotImplementedError("pool objects cannot be passed between processes or pickled")

    def __repr__(self):
        return "<%s.%s state=%s pool_size=%d>" % (
            type(self).__module__, type(self).__qualname__, self._state, getattr(self, "_processes", 0))

    def __del__(self, _warn=warnings.warn):
        if self._state == RUN:
            try:
                _warn("unclosed running multiprocessing pool %r" % (self,), ResourceWarning, source=self)
            except Exception:
                pass
            try:
                self._state = TERMINATE
                self._conn.call_async("pool.terminate", {"pool": self._name})
            except Exception:
                pass


def _plain_name(func):
    if isinstance(func, str):
        return func
    name = getattr(func, "__name__", None)
    if not name:
        raise TypeError("a pool of command workers calls functions by name: give a str, got %r" % (func,))
    return name

"""ProcessPoolExecutor on a corral pool.

Unlike concurrent.futures', a worker that dies fails only the future of the
task it was running (with :class:`corral.WorkerLost`); the executor goes on.
"""

import concurrent.futures as _cf
import os
import threading

from ._errors import RemoteError
from ._pool import Pool, convert_error, run_callback
from . import _codec

__all__ = ["ProcessPoolExecutor"]


class ProcessPoolExecutor(_cf.Executor):
    def __init__(self, max_workers=None, mp_context=None, initializer=None, initargs=(),
                 *, max_tasks_per_child=None):
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        elif max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if max_tasks_per_child is not None:
            if not isinstance(max_tasks_per_child, int) or max_tasks_per_child <= 0:
                raise ValueError("max_tasks_per_child must be >= 1")
        self._max_workers = max_workers
        self._init = (initializer, initargs, max_tasks_per_child)
        self._pool = None
        self._lock = threading.Lock()
        self._shutdown = False
        self._pending = set()

    def _get_pool(self):
        p = self._pool
        if p is None:
            init, initargs, mtpc = self._init
            p = self._pool = Pool(self._max_workers, init, initargs, mtpc)
        return p

    def submit(self, fn, /, *args, **kwargs):
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            pool = self._get_pool()
        f = _cf.Future()
        fnname, a, _ = pool._encode_call(fn, args, kwargs)
        pending = self._pending
        pending.add(f)

        def settle(outcome):
            ok, v = outcome
            pending.discard(f)
            if not f.set_running_or_notify_cancel():
                return
            if ok:
                f.set_result(v)
            else:
                f.set_exception(v)

        def done(r, err):
            if err is not None:
                outcome = (False, convert_error(err))
            else:
                try:
                    outcome = (True, _codec.loads(r.get("result")))
                except Exception as e:
                    outcome = (False, e)
            run_callback(settle, outcome)

        pool._conn.call_async("pool.apply", {"pool": pool._name, "fn": fnname, "args": a}, done)
        return f

    def shutdown(self, wait=True, *, cancel_futures=False):
        with self._lock:
            self._shutdown = True
            pool = self._pool
        if cancel_futures:
            for f in list(self._pending):
                f.cancel()
        if pool is None:
            return
        try:
            pool.close()
            if wait:
                pool.join()
                for f in list(self._pending):
                    try:
                        f.exception()
                    except BaseException:
                        pass
        except RemoteError:
            pass

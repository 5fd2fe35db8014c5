"""Module-level functions the shim's tests run in workers."""

import os
import signal
import threading
import time


class CustomError(Exception):
    def __init__(self, code, why):
        Exception.__init__(self, code, why)
        self.code = code
        self.why = why


def double(x):
    return x * 2


def add(a, b=0, *, c=0):
    return a + b + c


def pid(_=None):
    return os.getpid()


def fail(x):
    raise ValueError("bad item %r" % (x,))


def fail_custom(x):
    raise CustomError(x, "custom failure")


def fail_on(x, bad):
    if x == bad:
        raise KeyError(x)
    return x


def sleep_return(t, v=None):
    time.sleep(t)
    return v


def kill_self(_=None):
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)


def env_of(name):
    return os.environ.get(name)


def main_thread():
    return threading.current_thread() is threading.main_thread()


def identity(x):
    return x


_state = {}


def init_state(v):
    _state["v"] = v


def read_state(_=None):
    return _state.get("v")


def print_line(s):
    print(s)
    return s


def exit_with(code):
    raise SystemExit(code)


class Doubler(object):
    def __init__(self, k):
        self.k = k

    def times(self, x):
        return x * self.k


def unpicklable_result(_=None):
    return threading.Lock()


def whoami(_=None):
    import corral
    p = corral.current_process()
    pp = corral.parent_process()
    return p.name, pp.pid if pp else None


def put_many(q, n):
    """n puts to an unbounded queue; whether this worker's writes go
    without waiting for their replies."""
    import corral._objects
    for i in range(n):
        q.put(i)
    return corral._objects._pipelining


def set_many(d, n):
    for i in range(n):
        d["k%d" % i] = i
    d["last"] = n
    return n

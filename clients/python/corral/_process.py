"""Process, current_process(), active_children(), parent_process().

A Process is started by the supervisor (``process.start``): this
interpreter runs the bootstrap of _spawn, unpickles the Process object and
calls its ``run()`` in its main thread. ``pid`` is the child's real pid.
"""

import itertools
import os
import signal
import sys
import threading

from . import _sidecar, _spawn, _util

__all__ = ["BaseProcess", "Process", "current_process", "active_children", "parent_process"]

# Payloads bigger than this go through a file rather than the environment.
_ENV_PAYLOAD_MAX = 64 * 1024

_seq = itertools.count(1)


class BaseProcess(object):
    """multiprocessing.Process, run by corral."""

    _start_method = "spawn"

    def __init__(self, group=None, target=None, name=None, args=(), kwargs=None, *, daemon=None):
        assert group is None, "group argument must be None for now"
        count = next(_current_process._counter)
        self._identity = _current_process._identity + (count,)
        self._parent_pid = os.getpid()
        self._parent_name = _current_process.name
        self._sv_name = None  # the supervisor's name for it, once started
        self._pid = None
        self._exitcode = None
        self._closed = False
        self._started = False
        self._sentinel = None
        self._target = target
        self._args = tuple(args)
        self._kwargs = dict(kwargs) if kwargs else {}
        self._daemonic = _current_process._daemonic if daemon is None else bool(daemon)
        self._name = name or (type(self).__name__ + "-" + ":".join(str(i) for i in self._identity))
        self._counter = itertools.count(1)
        self._authkey = _current_process._authkey

    # -- what the child runs ------------------------------------------

    def run(self):
        """The child's work: calls target(*args, **kwargs). Override it in a
        subclass."""
        if self._target:
            self._target(*self._args, **self._kwargs)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_counter", None)
        state["_sentinel"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._counter = itertools.count(1)

    # -- the parent's side --------------------------------------------

    def _check_closed(self):
        if self._closed:
            raise ValueError("process object is closed")

    def start(self):
        """Start the child process."""
        self._check_closed()
        assert not self._started, "cannot start a process twice"
        assert self._parent_pid == os.getpid(), "can only start a process object created by current process"
        assert not _current_process._daemonic, "daemonic processes are not allowed to have children"
        _cleanup()
        payload = _spawn.encode(self)  # a lambda target fails here, as in multiprocessing
        conn = _sidecar.get_client()
        extra = {_spawn.ENV_PROC: payload}
        extra.update(_util.child_log_env())
        tmp = None
        if len(payload) > _ENV_PAYLOAD_MAX:
            import tempfile
            fd, tmp = tempfile.mkstemp(prefix="corral-proc-")
            with os.fdopen(fd, "w") as f:
                f.write(payload)
            extra = {_spawn.ENV_PROC_FILE: tmp}
            extra.update(_util.child_log_env())
        exe, args = _spawn.command()
        self._sv_name = "py-%d-%d" % (os.getpid(), next(_seq))
        try:
            info = conn.call("process.start", {
                "name": self._sv_name, "command": exe, "args": args,
                "env": _spawn.child_env("process", extra), "cwd": os.getcwd(),
                "output": "inherit",
            })
        except BaseException:
            if tmp:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            raise
        self._started = True
        # As multiprocessing: the parent lets go of the target.
        self._target = None
        self._args = ()
        self._kwargs = {}
        self._pid = info.get("pid")
        self._note(info)
        _children.add(self)
        _ensure_exit_hook()

    def _note(self, info):
        if not info.get("alive", True) and self._exitcode is None:
            self._exitcode = info.get("exitcode")
            if self._exitcode is None:
                self._exitcode = 1

    def _status(self, method="process.status", **extra):
        params = {"name": self._sv_name}
        params.update(extra)
        info = _sidecar.get_client().call(method, params)
        self._note(info)
        return info

    def join(self, timeout=None):
        """Wait until the child exits, or at most ``timeout`` seconds."""
        self._check_closed()
        assert self._parent_pid == os.getpid(), "can only join a child process"
        assert self._started, "can only join a started process"
        if self._exitcode is not None:
            _children.discard(self)
            return
        if timeout is None:
            self._status("process.join")
        else:
            self._status("process.join", timeout=max(0, timeout))
        if self._exitcode is not None:
            _children.discard(self)

    def is_alive(self):
        """Whether the child is running."""
        self._check_closed()
        if self is _current_process:
            return True
        assert self._parent_pid == os.getpid(), "can only test a child process"
        if not self._started:
            return False
        if self._exitcode is not None:
            return False
        self._status()
        if self._exitcode is not None:
            _children.discard(self)
            return False
        return True

    def terminate(self):
        """Send SIGTERM to the child."""
        self._check_closed()
        if self._started and self._exitcode is None:
            self._status("process.terminate")

    def kill(self):
        """Send SIGKILL to the child."""
        self._check_closed()
        if self._started and self._exitcode is None:
            self._status("process.kill")

    def close(self):
        """Release the process object; it must have exited."""
        if self._closed:
            return
        if self._started and self._exitcode is None:
            if self._status().get("alive", True) and self._exitcode is None:
                raise ValueError("Cannot close a process while it is still running. "
                                 "You should first call join() or terminate().")
        _children.discard(self)
        if self._sentinel is not None:
            try:
                os.close(self._sentinel)
            except OSError:
                pass
            self._sentinel = None
        self._closed = True

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, name):
        assert isinstance(name, str), "name must be a string"
        self._name = name

    @property
    def daemon(self):
        """Whether the process is daemonic: terminated, not waited for, at
        exit, and not allowed children."""
        return self._daemonic

    @daemon.setter
    def daemon(self, daemonic):
        assert not self._started, "process has already started"
        self._daemonic = bool(daemonic)

    @property
    def authkey(self):
        """The process's authentication key (inherited from its parent;
        corral does not use it)."""
        return self._authkey

    @authkey.setter
    def authkey(self, value):
        self._authkey = bytes(value)

    @property
    def exitcode(self):
        """None while running; the exit status, or -N if signal N ended it."""
        self._check_closed()
        if not self._started or self is _current_process:
            return None
        if self._exitcode is None:
            self._status()
        return self._exitcode

    @property
    def ident(self):
        """The child's pid (None before start)."""
        self._check_closed()
        if self is _current_process:
            return os.getpid()
        return self._pid

    pid = ident

    @property
    def sentinel(self):
        """A file descriptor that becomes readable (end of file) when the
        child has exited, for multiprocessing.connection.wait and select."""
        self._check_closed()
        if not self._started:
            raise ValueError("process not started")
        if self._sentinel is None:
            r, w = os.pipe()
            self._sentinel = r
            if self._exitcode is not None:
                os.close(w)
            else:
                name = self._sv_name

                def watch():
                    try:
                        _sidecar.get_client().call("process.join", {"name": name})
                    except Exception:
                        pass
                    finally:
                        os.close(w)
                threading.Thread(target=watch, name="corral-sentinel-" + self._name, daemon=True).start()
        return self._sentinel

    def __repr__(self):
        exitcode = None
        if self is _current_process:
            status = "started"
        elif self._closed:
            status = "closed"
        elif self._parent_pid != os.getpid():
            status = "unknown"
        elif not self._started:
            status = "initial"
        else:
            exitcode = self._exitcode
            status = "stopped" if exitcode is not None else "started"
        info = [type(self).__name__, "name=%r" % self._name]
        if self._pid is not None:
            info.append("pid=%s" % self._pid)
        info.append("parent=%s" % self._parent_pid)
        info.append(status)
        if exitcode is not None:
            info.append("exitcode=%s" % _exitcode_to_name.get(exitcode, exitcode))
        if self._daemonic:
            info.append("daemon")
        return "<%s>" % " ".join(info)

    # -- in the child --------------------------------------------------

    def _bootstrap(self):
        exitcode = 1
        try:
            _util.info("child process calling self.run()")
            try:
                self.run()
                exitcode = 0
            finally:
                _run_exit_hooks()
        except SystemExit as e:
            if e.code is None:
                exitcode = 0
            elif isinstance(e.code, int):
                exitcode = e.code
            else:
                sys.stderr.write(str(e.code) + "\n")
                exitcode = 1
        except BaseException:
            exitcode = 1
            import traceback
            sys.stderr.write("Process %s:\n" % self.name)
            traceback.print_exc()
        finally:
            _util.info("process exiting with exitcode %d" % exitcode)
            _util.flush_std()
        return exitcode


class Process(BaseProcess):
    pass


_exitcode_to_name = {}
for _name, _signum in list(signal.__dict__.items()):
    if _name[:3] == "SIG" and "_" not in _name and isinstance(_signum, int):
        _exitcode_to_name[-int(_signum)] = "-%s" % _name
del _name, _signum


def _make_main():
    p = BaseProcess.__new__(BaseProcess)
    p._identity = ()
    p._name = "MainProcess"
    p._parent_pid = None
    p._parent_name = None
    p._sv_name = None
    p._pid = os.getpid()
    p._exitcode = None
    p._closed = False
    p._started = True
    p._sentinel = None
    p._target = None
    p._args = ()
    p._kwargs = {}
    p._daemonic = False
    p._counter = itertools.count(1)
    p._authkey = os.urandom(32)
    return p


_current_process = _make_main()
_parent_process = None
_children = set()


def current_process():
    """The Process object of this process."""
    return _current_process


def parent_process():
    """The parent's Process object (None in the main process)."""
    return _parent_process


def _cleanup():
    for p in list(_children):
        if p._exitcode is not None:
            _children.discard(p)


def active_children():
    """The children of this process still running (joins finished ones)."""
    out = []
    for p in list(_children):
        if p._closed:
            _children.discard(p)
            continue
        try:
            alive = p.is_alive()
        except Exception:
            alive = False
        if alive:
            out.append(p)
    return out


_hook_registered = False
_exit_done = False


def _ensure_exit_hook():
    global _hook_registered
    if not _hook_registered:
        _hook_registered = True
        _sidecar.add_shutdown_hook(_run_exit_hooks)


def _run_exit_hooks():
    """At exit, as multiprocessing.util._exit_function: terminate daemonic
    children, join the others. After a KeyboardInterrupt, or a second one
    while joining, every child is terminated instead of waited for."""
    global _exit_done
    if _exit_done:
        return
    _exit_done = True
    interrupted = getattr(sys, "last_type", None) is KeyboardInterrupt
    _util.info("process shutting down")
    kids = [p for p in list(_children) if not p._closed and p._started]
    for p in kids:
        if p._daemonic or interrupted:
            _util.info("calling terminate() for daemon %s", p.name)
            try:
                p.terminate()
            except Exception:
                pass
    for p in kids:
        _util.info("calling join() for process %s", p.name)
        try:
            p.join()
        except KeyboardInterrupt:
            for q in kids:
                try:
                    q.terminate()
                except Exception:
                    pass
            for q in kids:
                try:
                    q.join(5)
                    if q._exitcode is None:
                        q.kill()
                except Exception:
                    pass
            break
        except Exception:
            pass


def _become_pool_worker():
    """In a pool worker: name the current process as multiprocessing
    names pool workers (SpawnPoolWorker-N), its parent the driver."""
    global _parent_process
    wname = os.environ.get("CORRAL_WORKER_NAME", "")
    n = wname.rsplit("-", 1)[-1] if "-" in wname else "1"
    _current_process._name = "SpawnPoolWorker-%s" % n
    _current_process._identity = (int(n),) if n.isdigit() else ()
    ppid = os.environ.get(_spawn.ENV_PARENT)
    if ppid:
        parent = _make_main()
        parent._pid = int(ppid)
        _parent_process = parent


def process_main():
    """Entry point of a Process child (see _bootstrap)."""
    global _current_process, _parent_process
    _spawn.line_buffered_output()
    _util.setup_child_logging()
    main_error = _spawn.prepare_child()
    raw = os.environ.pop(_spawn.ENV_PROC, None)
    path = os.environ.pop(_spawn.ENV_PROC_FILE, None)
    try:
        if raw is None and path:
            with open(path) as f:
                raw = f.read()
            os.unlink(path)
        proc = _spawn.decode(raw)
    except BaseException as e:
        if main_error is not None:
            sys.stderr.write("corral: %s\n" % main_error)
        sys.stderr.write("corral: cannot load the Process to run: %s: %s\n" % (type(e).__name__, e))
        sys.exit(1)
    parent = _make_main()
    parent._name = proc._parent_name or "MainProcess"
    parent._pid = proc._parent_pid
    _parent_process = parent
    proc._started = True
    proc._pid = os.getpid()
    proc._parent_pid = int(os.environ.get(_spawn.ENV_PARENT) or 0) or proc._parent_pid
    _current_process = proc
    code = proc._bootstrap()
    _util.flush_std()
    sys.exit(code)

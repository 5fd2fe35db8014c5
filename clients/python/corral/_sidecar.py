"""The process-wide connection to a corral supervisor.

:func:`get_client` returns it, made on first use:

- inside a process corral started (a pool worker, a ``Process``; any
  program with ``CORRAL_SOCKET`` in its environment), a client connection to
  that socket;
- in a driver program, a sidecar: ``corral serve`` started for this program,
  linked by two pipes it holds, and stopped at exit. The sidecar exits by
  itself when the link closes, so it never outlives this program, whatever
  ends it.
"""

import atexit
import os
try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None
import shutil
import subprocess
import sys
import threading

from ._errors import BinaryNotFound, ConnectionLost
from ._rpc import Connection

__all__ = ["get_client", "find_binary", "shutdown", "add_shutdown_hook", "is_sidecar_owner"]

PROTOCOL = "corral/1"
VERSION = "0.1.0"

ENV_BIN = "CORRAL_BIN"
ENV_SOCKET = "CORRAL_SOCKET"
ENV_LOG_LEVEL = "CORRAL_LOG_LEVEL"

# How long shutdown waits for the sidecar to exit after its link closes,
# then between SIGTERM and SIGKILL.
EXIT_WAIT = 15.0
TERM_GRACE = 5.0

_lock = threading.RLock()
_client = None
_proc = None
_pid = None  # the process that made _client (a fork gets its own)
_hooks = []
_atexit_registered = False
_fds_mode = None


def find_binary():
    """The corral binary: $CORRAL_BIN (a path or a name in PATH), else
    ``corral`` in PATH. Raises :class:`BinaryNotFound` saying how to get one."""
    want = os.environ.get(ENV_BIN)
    if want:
        if os.sep in want:
            if os.path.isfile(want) and os.access(want, os.X_OK):
                return os.path.abspath(want)
            raise BinaryNotFound(
                "corral: %s=%s is not an executable file; build the binary "
                "(in a corral checkout: make build, which writes bin/corral) "
                "or point %s at it" % (ENV_BIN, want, ENV_BIN))
        found = shutil.which(want)
        if found:
            return found
        raise BinaryNotFound(
            "corral: %s=%s is not found in PATH; build the binary (in a corral "
            "checkout: make build, which writes bin/corral) or set %s to its path"
            % (ENV_BIN, want, ENV_BIN))
    found = shutil.which("corral")
    if found:
        return found
    raise BinaryNotFound(
        "corral: cannot find the corral binary: set %s to its path or put it in "
        "PATH. To build it from a corral checkout: make build (writes "
        "bin/corral), or go install github.com/corralhq/corral/cmd/corral@latest"
        % ENV_BIN)


def is_sidecar_owner():
    """True when this process started (or would start) its own sidecar,
    rather than joining a supervisor named by CORRAL_SOCKET."""
    return not os.environ.get(ENV_SOCKET)


def add_shutdown_hook(fn):
    """Run ``fn()`` at exit before the connection is closed (last added,
    first run), e.g. to join non-daemon processes."""
    with _lock:
        _hooks.append(fn)
        _register_atexit()


def _register_atexit():
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(shutdown)


def _hello(conn, name):
    return conn.call("corral.hello", {
        "protocol": PROTOCOL, "role": "client", "name": name, "version": VERSION,
    })


def _program_name():
    main = sys.modules.get("__main__")
    f = getattr(main, "__file__", None)
    base = os.path.basename(f) if f else "python"
    return "python:%s[%d]" % (base, os.getpid())


def get_client():
    """The process-wide :class:`~corral._rpc.Connection`, greeted and ready."""
    global _client, _pid
    c = _client
    if c is not None and _pid == os.getpid() and not c.closed:
        return c
    with _lock:
        c = _client
        if c is not None and _pid == os.getpid() and not c.closed:
            return c
        if c is not None and _pid != os.getpid():
            # A forked child: the parent's connection is not ours.
            _reset_after_fork()
        sock = os.environ.get(ENV_SOCKET)
        if sock:
            c = Connection.connect_unix(sock, name="client")
            try:
                _hello(c, _program_name())
            except BaseException:
                c.close()
                raise
        else:
            c = _start_sidecar()
        _client = c
        _pid = os.getpid()
        _register_atexit()
        return c


def supervisor_info():
    """The supervisor's hello result (``socket``, ``version``…)."""
    get_client()
    return _info


_info = {}


def _grow_pipe(fd, size=1 << 20):
    """Raise a link pipe's buffer (Linux), so that a map of many items
    crosses in a few reads rather than one per 64 KiB, each waking both
    ends. Best effort: where it is refused, the default serves."""
    op = getattr(fcntl, "F_SETPIPE_SZ", 1031) if fcntl is not None else None
    if op is None or not sys.platform.startswith("linux"):
        return
    try:
        fcntl.fcntl(fd, op, size)
    except OSError:
        pass


def _start_sidecar():
    """Start ``corral serve`` linked to this process and greet it."""
    global _proc, _info
    binary = find_binary()
    level = os.environ.get(ENV_LOG_LEVEL, "error")
    # The link: the sidecar reads our requests from r1 and writes to w2.
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    _grow_pipe(w1)
    _grow_pipe(w2)
    args = [binary, "serve", "--log-level", level]
    if _use_fds():
        args += ["--fds", "%d,%d" % (r1, w2)]
        kw = dict(stdin=subprocess.DEVNULL, pass_fds=(r1, w2))
    else:
        args += ["--stdio"]
        kw = dict(stdin=r1, stdout=w2)
    try:
        proc = subprocess.Popen(args, start_new_session=True, close_fds=True, **kw)
    except OSError as e:
        for fd in (r1, w1, r2, w2):
            os.close(fd)
        raise BinaryNotFound("corral: cannot run %s: %s" % (binary, e)) from e
    finally:
        pass
    os.close(r1)
    os.close(w2)
    os.set_inheritable(w1, False)
    os.set_inheritable(r2, False)
    conn = Connection(r2, w1, name="sidecar")
    _proc = proc
    try:
        _info = _hello(conn, _program_name()) or {}
    except ConnectionLost:
        conn.close()
        code = proc.wait()
        raise RuntimeError("corral: the supervisor (%s serve) exited with status %s before answering its hello; "
                           "its log above says why" % (binary, code)) from None
    except BaseException:
        conn.close()
        _reap(proc)
        raise
    return conn


def _use_fds():
    """Whether `corral serve` takes --fds (the link on two extra fds, so the
    supervisor's and its children's stdout are the program's own)."""
    global _fds_mode
    if _fds_mode is None:
        env = os.environ.get("CORRAL_SIDECAR_LINK")
        if env in ("stdio", "fds"):
            _fds_mode = env == "fds"
        else:
            _fds_mode = True
    return _fds_mode


def _reap(proc):
    try:
        proc.wait(EXIT_WAIT)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        proc.terminate()
        proc.wait(TERM_GRACE)
        return
    except (subprocess.TimeoutExpired, OSError):
        pass
    try:
        proc.kill()
        proc.wait()
    except OSError:
        pass


def shutdown():
    """Run the shutdown hooks, close the connection and, for a sidecar,
    wait for it to exit. Called at exit; safe to call more than once."""
    global _client, _proc
    with _lock:
        hooks = list(_hooks)
        del _hooks[:]
    for fn in reversed(hooks):
        try:
            fn()
        except KeyboardInterrupt:
            break
        except Exception:
            pass
    with _lock:
        c, p = _client, _proc
        mine = _pid == os.getpid()
        _client = None
        _proc = None
    if c is None or not mine:
        return
    c.close()
    if p is not None:
        try:
            _reap(p)
        except KeyboardInterrupt:
            try:
                p.kill()
            except OSError:
                pass
    else:
        c.wait_closed(2.0)


def _reset_after_fork():
    global _client, _proc, _pid
    _client = None
    _proc = None
    _pid = None
    del _hooks[:]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)

"""The fork server: pool workers forked from a warm interpreter.

Starting a Python interpreter costs tens of milliseconds of CPU (more where
``site`` has work to do), and a pool's workers also import corral and the
program's main module. A Pool(32) pays that 32 times. multiprocessing's
forkserver start method pays it once: a server process loads everything
and forks each worker from itself. This is the same for corral's pools.

The supervisor still starts every worker itself, as ``corral forked
--socket PATH`` (a small Go process): that process hands the fork server
its descriptors (the protocol on fds 3/4, stdout, stderr), environment,
directory and process group over a Unix socket; the server forks; the
child takes them over, joins the process group (so the supervisor's
signals to the group reach it) and runs the pool worker. When the child
ends, the server tells ``corral forked``, which ends the same way, with the
same exit code or signal. Supervision is unchanged: the supervisor sees
its own child, in its own group, end as the program did.

The server is a corral Process of the driver; its children die with it
(parent-death signal), and it dies with the supervisor.
"""

import json
import os
import selectors
import signal
import socket
import sys
import time

from . import _util

ENV_SOCKET = "CORRAL_PY_ZYGOTE"
# CORRAL_PY_FORKSERVER=0 makes pools start every worker afresh instead.
ENV_ENABLE = "CORRAL_PY_FORKSERVER"

_server = None  # (pid of the driver that started it, socket path, binary)


def worker_command():
    """The command of a pool worker forked by this driver's fork server
    (started on first use), or None when workers start afresh: disabled,
    not Linux, or no corral binary to run ``corral forked`` with."""
    global _server
    if os.environ.get(ENV_ENABLE, "1") == "0" or not sys.platform.startswith("linux") \
            or not hasattr(socket, "recv_fds"):
        return None
    if _server is not None and _server[0] == os.getpid():
        return _server[2], ["forked", "--socket", _server[1]]
    from . import _sidecar, _spawn
    try:
        binary = _sidecar.find_binary()
    except Exception:
        return None
    import atexit
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="corral-fork-")
    # The server removes it when it stops; this covers a server killed.
    atexit.register(shutil.rmtree, d, True)
    path = os.path.join(d, "s")
    conn = _sidecar.get_client()
    exe, args = _spawn.command()
    name = "py-%d-forkserver" % os.getpid()
    conn.call("process.start", {
        "name": name, "command": exe, "args": args, "cwd": os.getcwd(),
        "env": _spawn.child_env("zygote", {ENV_SOCKET: path}), "output": "inherit",
    })
    deadline = time.monotonic() + 60
    checked = time.monotonic()
    while not os.path.exists(path):
        now = time.monotonic()
        if now - checked > 0.05:
            checked = now
            st = conn.call("process.status", {"name": name})
            if not st.get("alive", True) or now > deadline:
                raise RuntimeError("corral: the pool's fork server did not start (exit code %s); "
                                   "set %s=0 to start workers afresh" % (st.get("exitcode"), ENV_ENABLE))
        time.sleep(0.0005)
    _server = (os.getpid(), path, binary)
    return binary, ["forked", "--socket", path]

_PR_SET_PDEATHSIG = 1


def _prctl():
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except Exception:
        return None


def serve():
    """Run the fork server (in its own process; see _bootstrap)."""
    path = os.environ[ENV_SOCKET]
    from . import _spawn, _worker, _process, _codec  # noqa: F401 — preloaded for the children
    main_error = _spawn.prepare_child()
    prctl = _prctl()
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = path + ".tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    lsock.bind(tmp)
    lsock.listen(128)
    os.rename(tmp, path)  # the socket appears only once it listens

    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    # Asked to stop (the supervisor is going, and stops every worker too):
    # fork no more, and leave once the workers forked have ended, so that
    # none of them is cut short by this server's end.
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, "accept")
    sel.register(rfd, selectors.EVENT_READ, "child")
    children = {}  # pid -> the connection of its `corral forked`
    while True:
        if stopping:
            if lsock.fileno() >= 0:
                sel.unregister(lsock)
                lsock.close()
                try:
                    os.unlink(path)
                except OSError:
                    pass
            _reap(children)
            if not children:
                try:
                    os.rmdir(os.path.dirname(path))
                except OSError:
                    pass
                os._exit(0)
        for key, _ in sel.select(0.1 if stopping else None):
            if key.data == "accept":
                try:
                    conn, _ = lsock.accept()
                except OSError:
                    continue
                pid = _fork_one(conn, lsock, rfd, wfd, sel, children, prctl, main_error)
                if pid:
                    children[pid] = conn
                else:
                    conn.close()
            else:
                try:
                    os.read(rfd, 4096)
                except OSError:
                    pass
                _reap(children)


def _reap(children):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is None:
            continue
        if os.WIFSIGNALED(status):
            msg = {"signal": os.WTERMSIG(status)}
        else:
            msg = {"exit": os.waitstatus_to_exitcode(status)}
        try:
            conn.sendall((json.dumps(msg) + "\n").encode())
        except OSError:
            pass
        conn.close()


def _fork_one(conn, lsock, rfd, wfd, sel, children, prctl, main_error):
    conn.settimeout(10)
    try:
        msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 8)
        while not msg.endswith(b"\n"):
            more = conn.recv(1 << 20)
            if not more:
                raise OSError("the request ended early")
            msg += more
        req = json.loads(msg)
        targets = req["fds"]
        if len(targets) != len(fds):
            raise OSError("got %d descriptors for %d" % (len(fds), len(targets)))
    except (OSError, ValueError, KeyError) as e:
        for fd in locals().get("fds") or ():
            os.close(fd)
        try:
            conn.sendall((json.dumps({"error": "fork server: bad request: %s" % e}) + "\n").encode())
        except OSError:
            pass
        return 0
    conn.settimeout(None)
    _util.flush_std()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            sel.close()
            for s in (lsock, conn):
                s.close()
            for c in children.values():
                c.close()
            os.close(rfd)
            os.close(wfd)
            _become(req, fds, targets, prctl)
            from . import _worker
            _worker.pool_worker_main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            try:
                import traceback
                traceback.print_exc()
            except Exception:
                pass
        finally:
            _util.flush_std()
            os._exit(code)
    for fd in fds:
        os.close(fd)
    try:
        conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
    except OSError:
        pass
    return pid


def _become(req, fds, targets, prctl):
    """In the forked child: take over the worker's descriptors, group,
    environment and directory."""
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(1)  # the server died between fork and prctl
    try:
        os.setpgid(0, int(req["pgid"]))
    except OSError:
        pass
    # Out of the way of the target numbers first, then into place.
    high = [os.dup2(fd, 100 + i) for i, fd in enumerate(fds)]
    for fd in fds:
        os.close(fd)
    for fd in range(0, 5):
        if fd not in targets:
            try:
                os.close(fd)
            except OSError:
                pass
    for h, t in zip(high, targets):
        os.dup2(h, t)
        os.close(h)
    os.environ.clear()
    for kv in req.get("env") or ():
        k, sep, v = kv.partition("=")
        if sep:
            os.environ[k] = v
    cwd = req.get("cwd")
    if cwd:
        try:
            os.chdir(cwd)
        except OSError:
            pass

"""Helpers for the shared-object tests: real child processes that join the
test's supervisor through CORRAL_SOCKET and run a module-level function of a
test module with pickled arguments (shared objects travel as handles)."""

import base64
import os
import pickle
import subprocess
import sys

from corral import _sidecar

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)

_CHILD = (
    "import base64, pickle, sys\n"
    "fn, args = pickle.loads(base64.b64decode(sys.argv[1]))\n"
    "r = fn(*args)\n"
    "sys.exit(r if isinstance(r, int) else 0)\n"
)


def socket_path():
    _sidecar.get_client()
    path = os.environ.get(_sidecar.ENV_SOCKET) or _sidecar.supervisor_info().get("socket")
    assert path, "the supervisor did not report its socket"
    return path


def child_env():
    env = dict(os.environ)
    env[_sidecar.ENV_SOCKET] = socket_path()
    env["PYTHONPATH"] = os.pathsep.join([HERE, PKG] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def spawn(fn, *args):
    """Start a child process running fn(*args); returns the Popen."""
    payload = base64.b64encode(pickle.dumps((fn, args))).decode("ascii")
    return subprocess.Popen([sys.executable, "-c", _CHILD, payload], env=child_env())


def run(fn, *args, timeout=60):
    """Run fn(*args) in a child process; return its exit status."""
    p = spawn(fn, *args)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise

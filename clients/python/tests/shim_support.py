"""Helpers for the shim's tests: run a Python program with the shim on its
path and capture what it prints."""

import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)


def env(**extra):
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([PKG, HERE] + [p for p in e.get("PYTHONPATH", "").split(os.pathsep) if p])
    e.pop("CORRAL_SOCKET", None)
    for k, v in extra.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


def run_script(code, *, timeout=60, cwd=None, env_extra=None, args=(), path=None):
    """Write code to a file (or run path) and run it; returns
    CompletedProcess with text stdout/stderr."""
    if path is None:
        import tempfile
        d = tempfile.mkdtemp(prefix="corral-py-test-")
        path = os.path.join(d, "prog.py")
        with open(path, "w") as f:
            f.write(textwrap.dedent(code))
        cwd = cwd or d
    return subprocess.run([sys.executable, path] + list(args), env=env(**(env_extra or {})),
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False

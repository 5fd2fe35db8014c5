"""Spawn semantics: how a Python child (pool worker or Process) is started
and prepared, as multiprocessing's "spawn" start method does it.

The child runs this interpreter (sys.executable) with a short bootstrap;
the driver's sys.path, working directory and environment go with it, and
its main script is imported as ``__mp_main__`` (and aliased as
``__main__``), so the ``if __name__ == "__main__":`` guard keeps the
driver's own code from running again.
"""

import base64
import json
import os
import pickle
import runpy
import sys
import types

# Where the main script was, resolved against the directory the program
# started in (multiprocessing's ORIGINAL_DIR).
ORIGINAL_DIR = os.path.abspath(os.getcwd())

ENV_PATH = "CORRAL_PY_PATH"
ENV_MAIN = "CORRAL_PY_MAIN"
ENV_INIT = "CORRAL_PY_INIT"
ENV_ROLE = "CORRAL_PY_ROLE"
ENV_PROC = "CORRAL_PY_PROC"
ENV_PROC_FILE = "CORRAL_PY_PROC_FILE"
ENV_PARENT = "CORRAL_PY_PARENT"

_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BOOT = ("import sys,os,json;sys.path[:]=json.loads(os.environ['%s']);"
        "from corral import _bootstrap;_bootstrap.main()" % ENV_PATH)

# Variables the supervisor sets for each child; never copied from the driver.
_SUPERVISOR_VARS = ("CORRAL_SOCKET", "CORRAL_WORKER_ID", "CORRAL_WORKER_NAME",
                    "CORRAL_POOL", "CORRAL_PROTOCOL_FDS")


def command():
    """The command line of a Python child: this very interpreter."""
    exe = sys.executable
    if not exe:
        raise RuntimeError("corral: sys.executable is empty; cannot start Python workers")
    return exe, ["-c", BOOT]


def _main_info():
    main = sys.modules.get("__main__")
    if main is None:
        return None
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name:
        # Run as `python -m NAME`: the child imports NAME (not a package's
        # __main__, which would run the program again).
        return {"name": name}
    path = getattr(main, "__file__", None)
    if path:
        if os.path.basename(path).startswith("ipython"):
            return None
        return {"path": os.path.normpath(os.path.join(ORIGINAL_DIR, path))}
    return None


def child_env(role, extra=None):
    """The environment of a Python child: the driver's own, as it is now,
    plus what the bootstrap needs."""
    env = {}
    for k, v in os.environ.items():
        if k in _SUPERVISOR_VARS:
            continue
        env[k] = v
    path = list(sys.path)
    if _PKG_PARENT not in path:
        path.append(_PKG_PARENT)
    env[ENV_PATH] = json.dumps(path)
    info = _main_info()
    if info is not None:
        env[ENV_MAIN] = json.dumps(info)
    else:
        env.pop(ENV_MAIN, None)
    env[ENV_ROLE] = role
    env[ENV_PARENT] = str(os.getpid())
    env.pop(ENV_INIT, None)
    env.pop(ENV_PROC, None)
    env.pop(ENV_PROC_FILE, None)
    if extra:
        env.update(extra)
    return env


def encode(obj):
    return base64.b64encode(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)).decode("ascii")


def decode(s):
    return pickle.loads(base64.b64decode(s))


def _fixup_main_from_name(mod_name):
    current_main = sys.modules["__main__"]
    if mod_name == "__main__" or mod_name.endswith(".__main__"):
        return
    if getattr(current_main.__spec__, "name", None) == mod_name:
        return
    old = sys.modules.get("__mp_main__")
    main_content = runpy.run_module(mod_name, run_name="__mp_main__", alter_sys=True)
    main_module = types.ModuleType("__mp_main__")
    main_module.__dict__.update(main_content)
    sys.modules["__main__"] = sys.modules["__mp_main__"] = main_module
    del old


def _fixup_main_from_path(main_path):
    current_main = sys.modules["__main__"]
    main_name = os.path.splitext(os.path.basename(main_path))[0]
    if main_name == "ipython":
        return
    if getattr(current_main, "__file__", None) == main_path:
        return
    main_module = types.ModuleType("__mp_main__")
    # Registered first, as the import system does, so that classes defined
    # by the script can be pickled while it runs.
    sys.modules["__main__"] = sys.modules["__mp_main__"] = main_module
    main_module.__file__ = main_path
    try:
        main_content = runpy.run_path(main_path, run_name="__mp_main__")
    except BaseException:
        sys.modules["__main__"] = current_main
        sys.modules.pop("__mp_main__", None)
        raise
    main_module.__dict__.update(main_content)


def line_buffered_output():
    """Make the child's stdout and stderr line buffered: several children
    share the program's stdout, and a line written whole cannot be cut in
    two by another child's (a terminal shows the same)."""
    for f in (sys.stdout, sys.stderr):
        try:
            f.reconfigure(line_buffering=True, write_through=False)
        except (AttributeError, ValueError, OSError):
            pass


def prepare_child():
    """In a child: import the driver's main script as __mp_main__.

    Returns None, or the exception its import raised (re-raised for each
    task that needs it, so the driver learns why, rather than the pool
    restarting the worker again and again)."""
    raw = os.environ.get(ENV_MAIN)
    if not raw:
        return None
    try:
        info = json.loads(raw)
        if "name" in info:
            _fixup_main_from_name(info["name"])
        elif "path" in info:
            _fixup_main_from_path(info["path"])
    except BaseException as e:  # noqa: B902 — a script may call sys.exit
        if isinstance(e, KeyboardInterrupt):
            raise
        where = info.get("name") or info.get("path") if isinstance(info, dict) else raw
        err = ImportError("corral: the worker could not import the main module %s: %s: %s"
                          % (where, type(e).__name__, e))
        err.__cause__ = e
        try:
            import traceback
            sys.stderr.write("corral: importing the main module %s in a worker failed:\n%s"
                             % (where, "".join(traceback.format_exception(type(e), e, e.__traceback__))))
            sys.stderr.flush()
        except Exception:
            pass
        return err
    return None


def run_initializer():
    raw = os.environ.get(ENV_INIT)
    if not raw:
        return
    initializer, initargs = decode(raw)
    initializer(*initargs)

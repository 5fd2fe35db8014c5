"""The worker side: serve ``task.run`` and ``task.map`` (PROTOCOL §5.22–5.24).

Two uses:

- ``corral.serve({"double": double})`` makes any Python script an rpc
  worker for pools driven from any language: plain JSON in and out.
- The Python shim's own pool workers run :func:`pool_worker_main`: they also
  serve any importable function by reference (``py:module:qualname``), with
  arguments and results pickled in envelopes (``_codec``).

The loop runs in the main thread (a task's signal handlers work) and reads
the protocol synchronously: the supervisor has at most one request
outstanding on a worker connection (§2.7). Shared objects used by a task go
through :func:`corral._sidecar.get_client`, a separate socket connection.
"""

import json
import os
import sys
import traceback
from itertools import starmap as _starmap

from . import _codec
from ._errors import (
    INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, TASK_FAILED,
    UNKNOWN_FUNCTION, VERSION_MISMATCH,
)

PROTOCOL = "corral/1"

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode
_decode = json.JSONDecoder().decode


class _TaskError(Exception):
    def __init__(self, code, message, data=None):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.data = data


def _exc_data(e, pickled):
    """ErrorData for an exception raised by a task."""
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    data = {"type": type(e).__name__, "message": str(e), "traceback": tb}
    if pickled:
        e.__traceback__ = None
        try:
            data["value"] = _codec.dumps(e)
        except Exception:
            pass
    return data


def _exc_message(e):
    s = str(e)
    return "%s: %s" % (type(e).__name__, s) if s else type(e).__name__


class Server(object):
    """Serves one worker connection on two file descriptors."""

    def __init__(self, functions=None, python=False, name="corral-python"):
        self.functions = dict(functions or {})
        self.python = python
        self.name = name
        self.main_error = None
        self.after_task = None

    # -- calling -------------------------------------------------------

    def _resolve(self, ref):
        if ref.startswith("__main__:") and self.main_error is not None:
            raise self.main_error
        return _codec.resolve(ref)

    def run(self, fn, args, kwargs):
        """One call: returns the JSON result or raises _TaskError."""
        if self.python and fn.startswith("py:"):
            try:
                payload = _codec.loads(args[0])
                if fn == "py:":
                    f, a, kw = payload
                else:
                    f = self._resolve(fn[3:])
                    a, kw = payload
                return _codec.dumps(f(*a, **kw))
            except Exception as e:
                raise _TaskError(TASK_FAILED, _exc_message(e), _exc_data(e, True))
        if self.python and (fn.startswith("pymap:") or fn.startswith("pystarmap:")):
            try:
                star = fn[2] == "s"
                ref = fn[10:] if star else fn[6:]
                chunk = _codec.loads(args[0])
                if ref:
                    f, items = self._resolve(ref), chunk
                else:
                    f, items = chunk
                return _codec.dumps(list(_starmap(f, items)) if star else list(map(f, items)))
            except Exception as e:
                raise _TaskError(TASK_FAILED, _exc_message(e), _exc_data(e, True))
        f = self.functions.get(fn)
        if f is None:
            raise _TaskError(UNKNOWN_FUNCTION, "unknown function %s; this worker serves: %s" % (
                json.dumps(fn), ", ".join(sorted(self.functions)) or "nothing"))
        try:
            return _codec.to_json(f(*_codec.from_json(args), **_codec.from_json(kwargs or {})))
        except Exception as e:
            raise _TaskError(TASK_FAILED, _exc_message(e), _exc_data(e, False))

    # -- the loop ------------------------------------------------------

    def serve_fds(self, rfd, wfd):
        def write(msg):
            data = (_encode(msg) + "\n").encode("utf-8")
            view = memoryview(data)
            while view:
                n = os.write(wfd, view)
                view = view[n:]

        rfile = open(rfd, "rb", buffering=1 << 16, closefd=False)
        greeted = False
        while True:
            line = rfile.readline()
            if not line:
                return
            try:
                msg = _decode(line.decode("utf-8"))
            except ValueError:
                if line.strip():
                    write({"jsonrpc": "2.0", "id": None,
                           "error": {"code": PARSE_ERROR, "message": "parse error: the line is not valid JSON"}})
                continue
            if type(msg) is not dict:
                write({"jsonrpc": "2.0", "id": None,
                       "error": {"code": INVALID_REQUEST, "message": "invalid request: a message must be a JSON object"}})
                continue
            method = msg.get("method")
            if "id" not in msg:
                if method is None and "result" not in msg and "error" not in msg:
                    write({"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": "invalid request: not a request"}})
                continue  # a notification or a stray response
            rid = msg["id"]
            if method is None:
                if "result" not in msg and "error" not in msg:
                    write({"jsonrpc": "2.0", "id": rid if isinstance(rid, (str, int, float)) else None,
                           "error": {"code": INVALID_REQUEST, "message": "invalid request: a message needs \"method\" or \"result\"/\"error\""}})
                continue
            if msg.get("jsonrpc") != "2.0" or not isinstance(method, str):
                write({"jsonrpc": "2.0", "id": rid if isinstance(rid, (str, int, float)) else None,
                       "error": {"code": INVALID_REQUEST, "message": "invalid request: \"jsonrpc\" must be \"2.0\" and \"method\" a string"}})
                continue
            if not (rid is None or isinstance(rid, (str, int, float))) or isinstance(rid, bool):
                write({"jsonrpc": "2.0", "id": None,
                       "error": {"code": INVALID_REQUEST, "message": "invalid request: id must be a string or a number"}})
                continue
            params = msg.get("params")
            if method == "corral.hello":
                p = params if isinstance(params, dict) else {}
                proto = p.get("protocol")
                if proto is None:
                    write({"jsonrpc": "2.0", "id": rid, "error": {"code": INVALID_PARAMS, "message": 'invalid params: "protocol" is required (this peer speaks "corral/1")'}})
                elif proto != PROTOCOL:
                    write({"jsonrpc": "2.0", "id": rid, "error": {
                        "code": VERSION_MISMATCH,
                        "message": "protocol version mismatch: peer speaks %s, this side speaks \"corral/1\"" % json.dumps(proto),
                        "data": {"supported": [PROTOCOL]}}})
                else:
                    greeted = True
                    write({"jsonrpc": "2.0", "id": rid, "result": {
                        "protocol": PROTOCOL, "role": "worker", "name": self.name,
                        "functions": [] if self.python else sorted(self.functions), "batch": True,
                        # Tasks run one at a time, in the order they come:
                        # the supervisor may send the next one ahead.
                        "in_order": True}})
                continue
            if method not in ("task.run", "task.map"):
                write({"jsonrpc": "2.0", "id": rid, "error": {"code": METHOD_NOT_FOUND, "message": "method not found: %s" % json.dumps(method)}})
                continue
            if not greeted:
                write({"jsonrpc": "2.0", "id": rid, "error": {"code": -32001, "message": "not initialized: corral.hello first"}})
                continue
            if not isinstance(params, dict) or not isinstance(params.get("fn"), str):
                write({"jsonrpc": "2.0", "id": rid, "error": {"code": INVALID_PARAMS, "message": 'invalid params: "fn" is required'}})
                continue
            fn = params["fn"]
            try:
                if method == "task.run":
                    args = params.get("args")
                    if args is None:
                        args = []
                    kwargs = params.get("kwargs")
                    if not isinstance(args, list) or (kwargs is not None and not isinstance(kwargs, dict)):
                        raise _TaskError(INVALID_PARAMS, 'invalid params: "args" must be an array and "kwargs" an object')
                    out = {"jsonrpc": "2.0", "id": rid, "result": self.run(fn, args, kwargs)}
                else:
                    items = params.get("items")
                    if not isinstance(items, list):
                        raise _TaskError(INVALID_PARAMS, 'invalid params: "items" must be an array')
                    star = params.get("star")
                    results = []
                    for i, item in enumerate(items):
                        try:
                            if star:
                                if not isinstance(item, list):
                                    raise _TaskError(INVALID_PARAMS, "invalid params: with star, every item must be an array")
                                results.append(self.run(fn, item, None))
                            else:
                                results.append(self.run(fn, [item], None))
                        except _TaskError as e:
                            if isinstance(e.data, dict):
                                e.data["index"] = i
                            else:
                                e.data = {"index": i}
                            raise
                    out = {"jsonrpc": "2.0", "id": rid, "result": results}
            except _TaskError as e:
                err = {"code": e.code, "message": e.message}
                if e.data is not None:
                    err["data"] = e.data
                out = {"jsonrpc": "2.0", "id": rid, "error": err}
            if self.after_task is not None:
                try:
                    self.after_task()
                except Exception as e:
                    if "result" in out:
                        out = {"jsonrpc": "2.0", "id": rid, "error": {
                            "code": TASK_FAILED, "message": _exc_message(e),
                            "data": _exc_data(e, self.python)}}
            try:
                write(out)
            except (TypeError, ValueError) as e:
                # A result JSON cannot carry (plain-JSON workers only).
                write({"jsonrpc": "2.0", "id": rid, "error": {
                    "code": TASK_FAILED, "message": "TypeError: the result cannot be sent as JSON: %s" % e,
                    "data": {"type": "TypeError", "message": "the result cannot be sent as JSON: %s" % e}}})


def _protocol_fds():
    """The worker's protocol descriptors, and whether they are fds 3/4."""
    v = os.environ.get("CORRAL_PROTOCOL_FDS")
    if v:
        r, _, w = v.partition(",")
        return int(r), int(w), True
    return 0, 1, False


def serve(functions, name="corral-python"):
    """Serve ``functions`` (a dict of name → callable) as a corral rpc
    worker until the supervisor closes the connection, then return.

    Arguments and results are plain JSON. Run the script as a pool's command,
    e.g. ``Pool(4, command=[sys.executable, "worker.py"])`` or a
    ``[pool.NAME]`` table. In fds mode (``"stdio":"fds"``) the script may
    print freely; otherwise stdout is the protocol, and ``print`` goes to
    stderr while this runs."""
    if not os.environ.get("CORRAL_WORKER_ID") and not os.environ.get("CORRAL_PROTOCOL_FDS"):
        sys.stderr.write(
            "corral.serve: this program is a corral worker: run it as a pool's command "
            "(corral serve --config, or Pool(N, command=[...])); it found no CORRAL_WORKER_ID "
            "in its environment, and reads the protocol on stdin.\n")
    rfd, wfd, fds = _protocol_fds()
    srv = Server(functions, python=False, name=name)
    srv.after_task = _flush_objects
    saved = sys.stdout
    if not fds:
        # stdout is the protocol: keep prints off it.
        wfd = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    try:
        srv.serve_fds(rfd, wfd)
    finally:
        sys.stdout = saved


def _flush_objects():
    """Wait for the replies of the writes the task sent to shared objects
    (nothing to do when it used none)."""
    m = sys.modules.get("corral._objects")
    if m is not None:
        m.flush()


def _pipeline_objects():
    """Turn on corral._objects.pipeline_writes in this worker: at once if
    the module is loaded, else when a task first loads it (a worker that
    uses no shared object does not pay for importing it)."""
    m = sys.modules.get("corral._objects")
    if m is not None:
        m.pipeline_writes(True)
    else:
        import corral
        corral._worker_flushes_objects = True


def pool_worker_main():
    """Entry point of the Python shim's pool workers (see _spawn)."""
    from . import _spawn
    _spawn.line_buffered_output()
    from . import _process, _util
    _util.setup_child_logging()
    _process._become_pool_worker()
    srv = Server(python=True, name="corral-python")
    # A task's writes to shared objects go without waiting for their
    # replies; they are flushed before its answer, which travels on this
    # other connection, so the driver sees them once it has the result.
    srv.after_task = _flush_objects
    _pipeline_objects()
    srv.main_error = _spawn.prepare_child()
    _spawn.run_initializer()
    rfd, wfd, fds = _protocol_fds()
    if not fds:
        wfd = os.dup(1)
        os.dup2(2, 1)
    try:
        srv.serve_fds(rfd, wfd)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass

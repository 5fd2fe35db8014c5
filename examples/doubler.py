#!/usr/bin/env python3
"""doubler.py: a corral/1 worker in plain Python (standard library only).

It serves one function, double(x) = x * 2 (ints, floats, strings: whatever
Python's * 2 does), through task.run and task.map. It speaks JSON-RPC 2.0,
one message per line, on stdin/stdout, or on fds 3 (in) and 4 (out) when
CORRAL_PROTOCOL_FDS=3,4 leaves stdio to the program.

Try it: corral check-worker -- ./examples/doubler.py
"""

import json
import os
import sys
import traceback

PROTOCOL = "corral/1"

# Error codes (spec/errors.json).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
NOT_INITIALIZED = -32001
VERSION_MISMATCH = -32002
TASK_FAILED = 1010
UNKNOWN_FUNCTION = 1014


def double(x):
    return x * 2


FUNCTIONS = {"double": double}


class RPCError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def task_failed(exc, index=None):
    """Turns an exception raised by a task into corral's task_failed."""
    data = {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }
    if index is not None:
        data["index"] = index
    return RPCError(TASK_FAILED, "%s: %s" % (data["type"], exc), data)


def dumps(value):
    # allow_nan=False: NaN and Infinity are not JSON, and a peer would choke
    # on the whole line; raising here fails just the one task instead.
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


class Worker:
    def __init__(self, out):
        self.out = out
        self.ready = False

    def reply(self, msg):
        self.out.write(dumps(msg).encode() + b"\n")
        self.out.flush()

    def error(self, id_, code, message, data=None):
        err = {"code": code, "message": message}
        if data is not None:
            err["data"] = data
        self.reply({"jsonrpc": "2.0", "id": id_, "error": err})

    def handle(self, line):
        if not line.strip():
            return  # blank lines are not messages
        try:
            msg = json.loads(line)
        except (ValueError, RecursionError):
            return self.error(None, PARSE_ERROR, "parse error: the line is not valid JSON")
        if not isinstance(msg, dict):
            return self.error(None, INVALID_REQUEST, "invalid request: a message must be one JSON object (batches are not accepted)")
        is_call = "id" in msg
        id_ = msg.get("id")
        if is_call and (isinstance(id_, bool) or not isinstance(id_, (str, int, float, type(None)))):
            return self.error(None, INVALID_REQUEST, "invalid request: id must be a string or a number")
        method = msg.get("method")
        if not isinstance(method, str):
            if "result" in msg or "error" in msg:
                return  # a response to a call of ours; this worker makes none
            return self.error(id_, INVALID_REQUEST, 'invalid request: "method" is required and must be a string')
        if msg.get("jsonrpc") != "2.0":
            if is_call:
                self.error(id_, INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"')
            return
        if not is_call:
            return  # a notification: nothing to say, whatever it asked
        try:
            result = self.dispatch(method, msg.get("params"))
            line = dumps({"jsonrpc": "2.0", "id": id_, "result": result})
        except RPCError as e:
            return self.error(id_, e.code, e.message, e.data)
        except (TypeError, ValueError) as e:  # a result JSON cannot carry (inf)
            e = task_failed(e)
            return self.error(id_, e.code, e.message, e.data)
        self.out.write(line.encode() + b"\n")
        self.out.flush()

    def dispatch(self, method, params):
        if method == "corral.hello":
            return self.hello(params)
        if not self.ready:
            raise RPCError(NOT_INITIALIZED, "not initialized: corral.hello must come first (got %s)" % method)
        if method == "task.run":
            return self.run(params)
        if method == "task.map":
            return self.map(params)
        raise RPCError(METHOD_NOT_FOUND, "method not found: %s" % method)

    def hello(self, params):
        params = need(params, "params", dict, "an object")
        proto = params.get("protocol")
        if not isinstance(proto, str):
            raise RPCError(INVALID_PARAMS, 'invalid params: "protocol" is required and must be a string (this worker speaks "%s")' % PROTOCOL)
        if proto != PROTOCOL:
            raise RPCError(
                VERSION_MISMATCH,
                'protocol version mismatch: the supervisor speaks "%s", doubler.py speaks "%s"; '
                'run it under a corral release that speaks %s, or use a worker built for "%s"' % (proto, PROTOCOL, PROTOCOL, proto),
                {"supported": [PROTOCOL]},
            )
        self.ready = True
        return {
            "protocol": PROTOCOL,
            "role": "worker",
            "name": "doubler.py",
            "functions": sorted(FUNCTIONS),
            "batch": True,
        }

    def function(self, params):
        params = need(params, "params", dict, "an object")
        name = need(params.get("fn"), "fn", str, "a string")
        fn = FUNCTIONS.get(name)
        return params, name, fn

    def run(self, params):
        params, name, fn = self.function(params)
        args = need(params.get("args", []), "args", list, "an array")
        kwargs = need(params.get("kwargs", {}), "kwargs", dict, "an object")
        if fn is None:
            raise unknown(name)
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise task_failed(e)

    def map(self, params):
        params, name, fn = self.function(params)
        items = need(params.get("items"), "items", list, "an array")
        star = need(params.get("star", False), "star", bool, "true or false")
        if fn is None:
            raise unknown(name)
        results = []
        for i, item in enumerate(items):
            try:
                if star:
                    if not isinstance(item, list):
                        raise TypeError("with star, each item must be an array of arguments, got %s" % type(item).__name__)
                    r = fn(*item)
                else:
                    r = fn(item)
            except Exception as e:
                raise task_failed(e, i)
            results.append(r)
        return results


def need(value, name, kind, what):
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise RPCError(INVALID_PARAMS, 'invalid params: "%s" must be %s' % (name, what))
    return value


def unknown(name):
    return RPCError(UNKNOWN_FUNCTION, 'unknown function: "%s" (this worker serves %s)' % (name, ", ".join(sorted(FUNCTIONS))))


def main():
    fds = os.environ.get("CORRAL_PROTOCOL_FDS")
    if fds:
        rfd, wfd = (int(f) for f in fds.split(","))
        inp, out = os.fdopen(rfd, "rb"), os.fdopen(wfd, "wb")
    else:
        if sys.stdin.isatty() and "CORRAL_WORKER_ID" not in os.environ:
            sys.stderr.write(
                "doubler.py is a corral worker that speaks JSON-RPC on stdin/stdout, so rather than "
                "running it by hand, put it in a pool for 'corral serve' or test it with "
                "'corral check-worker -- %s'.\n" % sys.argv[0]
            )
            return 2
        inp, out = sys.stdin.buffer, sys.stdout.buffer
        # A task's print() must not land in the middle of the protocol
        # stream: send it to stderr, which corral logs.
        sys.stdout = sys.stderr
    worker = Worker(out)
    for line in inp:
        worker.handle(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Values between Python peers: pickle in a tagged JSON envelope.

``{"$pickle": "<base64 of a pickle>"}`` is opaque to the supervisor, which
relays it as any JSON value (spec/PROTOCOL.md §5.50). The shared objects
(_objects) use the same envelope.
Functions travel by reference: ``module:qualname`` (see :func:`fn_ref`).
"""

import base64
import binascii
import importlib
import pickle
import sys
import types

TAG = "$pickle"

_dumps = pickle.dumps
_loads = pickle.loads
_b64e = binascii.b2a_base64
_b64d = binascii.a2b_base64
_PROTO = pickle.HIGHEST_PROTOCOL


def dumps(obj):
    """The envelope of ``obj``; raises pickle errors as they are."""
    return {TAG: _b64e(_dumps(obj, _PROTO), newline=False).decode("ascii")}


def is_envelope(v):
    return type(v) is dict and TAG in v and len(v) == 1


def loads(v):
    """The value inside an envelope; anything else is returned as is."""
    if type(v) is dict:
        b = v.get(TAG)
        if b is not None:
            return _loads(_b64d(b))
    return v


def decode(v):
    """As :func:`loads`, and a shared object's handle ``{"$corral": KIND,
    "name": NAME}`` (from a Go or shell peer) becomes its proxy (a handle
    of a kind this package does not know is returned as is)."""
    if type(v) is dict and HANDLE in v:
        obj = _objects().from_handle(v)
        return v if obj is None else obj
    return loads(v)


HANDLE = "$corral"


def _objects():
    from . import _objects as m
    return m


def to_json(v):
    """``v`` for a plain-JSON peer: shared objects (at any depth in lists,
    tuples and dicts) become their handles; the rest is left to the JSON
    encoder."""
    t = type(v)
    if t is str or t is int or t is float or t is bool or v is None:
        return v
    if t is list or t is tuple:
        return [to_json(x) for x in v]
    if t is dict:
        return {k: to_json(x) for k, x in v.items()}
    h = getattr(t, "__corral_handle__", None)
    if h is not None:
        return h(v)
    return v


def from_json(v):
    """A plain-JSON value with handles (at any depth) turned into proxies."""
    t = type(v)
    if t is list:
        return [from_json(x) for x in v]
    if t is dict:
        if HANDLE in v:
            return decode(v)
        return {k: from_json(x) for k, x in v.items()}
    return v


def describe(obj):
    try:
        r = repr(obj)
    except Exception:
        r = "<%s object>" % type(obj).__name__
    return r if len(r) < 80 else r[:77] + "..."


def fn_ref(fn):
    """``module:qualname`` for a function or class importable by that name,
    or None when ``fn`` must be pickled whole (a bound method, a partial,
    a callable object). Raises :class:`pickle.PicklingError` for a lambda
    or a local function, which a worker could not find."""
    try:
        r = _refs.get(fn)
    except TypeError:
        r = None
    if r is not None:
        return r
    qual = getattr(fn, "__qualname__", None)
    mod = getattr(fn, "__module__", None)
    if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType, type)) and qual and mod:
        if "<lambda>" in qual or "<locals>" in qual:
            raise pickle.PicklingError(
                "corral: cannot send %s to a worker: a %s has no name a worker can import; "
                "define it at the top level of a module" % (
                    describe(fn), "lambda" if "<lambda>" in qual else "local function"))
        if isinstance(fn, types.BuiltinFunctionType) and getattr(fn, "__self__", None) is not None \
                and not isinstance(fn.__self__, types.ModuleType):
            return None  # a bound builtin method such as [].append
        m = sys.modules.get(mod)
        obj = m
        try:
            for part in qual.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            obj = None
        if obj is not fn:
            raise pickle.PicklingError(
                "corral: cannot send %s to a worker: it is not found as %s.%s" % (describe(fn), mod, qual))
        r = "%s:%s" % (mod, qual)
        if isinstance(fn, types.FunctionType):
            _refs[fn] = r
        return r
    return None


_refs = {}


_cache = {}


def resolve(ref):
    """The object named ``module:qualname``, imported on first use."""
    f = _cache.get(ref)
    if f is not None:
        return f
    mod, _, qual = ref.partition(":")
    m = sys.modules.get(mod)
    if m is None:
        m = importlib.import_module(mod)
    obj = m
    for part in qual.split("."):
        obj = getattr(obj, part)
    _cache[ref] = obj
    return obj

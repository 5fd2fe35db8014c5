"""Value, RawValue, Array and RawArray as in multiprocessing.sharedctypes,
held by the corral supervisor as typed values and arrays
(spec/PROTOCOL.md §5.40, §5.41).

A typecode is one of Python's array typecodes the supervisor knows (b B h H
i I l L q Q f d c u), or a ctypes type (c_int, c_double, c_char …). As
ctypes does, integers wrap around on store and ``'c'`` items are bytes of
length one; a ``'c'`` array has ``.value`` (up to the first NUL) and
``.raw``.
"""

import ctypes

from . import _errors
from ._errors import RemoteError
from ._objects import (
    SharedObject, RLock, _call, _client, _create, _new_name, _register, _translate,
)

__all__ = ["Value", "RawValue", "Array", "RawArray", "typecode_of"]

_BITS = {"b": 8, "B": 8, "h": 16, "H": 16, "i": 32, "I": 32,
         "l": 64, "L": 64, "q": 64, "Q": 64}
_SIGNED = set("bhilq")
_TYPECODES = set(_BITS) | set("fdcu")

_CTYPES = {
    ctypes.c_byte: "b", ctypes.c_ubyte: "B", ctypes.c_short: "h",
    ctypes.c_ushort: "H", ctypes.c_int: "i", ctypes.c_uint: "I",
    ctypes.c_long: "l", ctypes.c_ulong: "L", ctypes.c_longlong: "q",
    ctypes.c_ulonglong: "Q", ctypes.c_float: "f", ctypes.c_double: "d",
    ctypes.c_longdouble: "d", ctypes.c_char: "c", ctypes.c_wchar: "u",
    ctypes.c_bool: "?",
}

_CTYPE_NAMES = {
    "b": "c_byte", "B": "c_ubyte", "h": "c_short", "H": "c_ushort",
    "i": "c_int", "I": "c_uint", "l": "c_long", "L": "c_ulong",
    "q": "c_longlong", "Q": "c_ulonglong", "f": "c_float", "d": "c_double",
    "c": "c_char", "u": "c_wchar", "?": "c_bool",
}


def typecode_of(typecode_or_type):
    """The typecode for a typecode string or a ctypes type. ``'?'`` (c_bool)
    is stored as an unsigned char and read back as a bool."""
    t = typecode_or_type
    if isinstance(t, str):
        if t in _TYPECODES or t == "?":
            return t
        raise TypeError("corral: unsupported typecode %r (one of %s, or a ctypes type)"
                        % (t, " ".join(sorted(_TYPECODES))))
    code = _CTYPES.get(t)
    if code is None:
        code = getattr(t, "_type_", None)
        if not (isinstance(code, str) and (code in _TYPECODES or code == "?")):
            raise TypeError("corral: unsupported ctypes type %r: Value and Array hold numbers and "
                            "characters (c_int, c_double, c_char …), not pointers or structures" % (t,))
    return code


def _wire_code(code):
    return "B" if code == "?" else code


def _to_wire(code, v):
    """A Python value as the supervisor stores it for ``code``."""
    if code in _BITS:
        if isinstance(v, bool):
            v = int(v)
        if isinstance(v, int):
            bits = _BITS[code]
            if code in _SIGNED:
                half = 1 << (bits - 1)
                return ((v + half) % (1 << bits)) - half
            return v % (1 << bits)
        if isinstance(v, float):
            raise TypeError("int expected instead of float")
        raise TypeError("an integer is required (got type %s)" % type(v).__name__)
    if code == "?":
        return 1 if v else 0
    if code in "fd":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        if isinstance(v, bool):
            return float(v)
        raise TypeError("must be real number, not %s" % type(v).__name__)
    if code == "c":
        if isinstance(v, (bytes, bytearray)) and len(v) == 1:
            return bytes(v).decode("latin-1")
        if isinstance(v, int) and 0 <= v < 256:
            return chr(v)
        raise TypeError("one character bytes, bytearray or integer expected")
    if code == "u":
        if isinstance(v, str) and len(v) == 1:
            return v
        raise TypeError("unicode string expected instead of %s instance" % type(v).__name__)
    return v


def _from_wire(code, v):
    if code == "c":
        return v.encode("latin-1")
    if code == "?":
        return bool(v)
    return v


def _zero(code):
    if code == "c":
        return b"\x00"
    if code == "u":
        return "\x00"
    if code in "fd":
        return 0.0
    if code == "?":
        return False
    return 0


def _check_lock(lock):
    if lock is True or lock is None:
        return True
    if lock is False:
        return False
    if not hasattr(lock, "acquire"):
        raise AttributeError("%r has no method 'acquire'" % (lock,))
    return lock


# ---------------------------------------------------------------------------
# Values


@_register("value")
class RawValue(SharedObject):
    """multiprocessing.RawValue: a shared number or character, no lock."""

    _kind = "value"

    def __init__(self, typecode_or_type, *args, name=None):
        code = typecode_of(typecode_or_type)
        self._code = code
        self._name = name or _new_name("value")
        params = {"typecode": _wire_code(code)}
        if args:
            if len(args) > 1:
                raise TypeError("Value takes one initial value, got %d" % len(args))
            params["initial"] = _to_wire(code, args[0])
        _create("value", self._name, params)

    def __corral_handle__(self):
        return {"$corral": "value", "name": self._name, "typecode": _wire_code(self._code)}

    to_json = __corral_handle__

    def _getstate(self):
        return self._code

    def _setstate(self, state):
        self._code = state

    @classmethod
    def _state_from_handle(cls, h):
        return h.get("typecode") or "d"

    @classmethod
    def _from_handle(cls, h):
        obj = Synchronized.__new__(Synchronized)
        obj._name = h["name"]
        obj._code = h.get("typecode") or "d"
        obj._lock = True
        obj._lockobj = None
        return obj

    @property
    def value(self):
        try:
            v = _client().call("value.get", {"name": self._name})["value"]
        except RemoteError as e:
            raise _translate(e) from None
        code = self._code
        if code == "c" or code == "?":
            return _from_wire(code, v)
        return v

    @value.setter
    def value(self, v):
        code = self._code
        w = _to_wire(code, v)
        if code in _BITS or code == "d" or code == "?":
            # Checked and wrapped here, so the supervisor takes it: sent
            # without waiting (see _objects._Sync).
            _client().send("value.set", {"name": self._name, "value": w})
            return
        try:
            _client().call("value.set", {"name": self._name, "value": w})
        except RemoteError as e:
            raise _translate(e) from None

    # Atomic operations the supervisor offers beyond multiprocessing.

    def add(self, delta):
        """Add ``delta`` atomically; return the new value."""
        try:
            return _from_wire(self._code, _call("value.add", {"name": self._name, "delta": delta})["value"])
        except RemoteError as e:
            raise _translate(e) from None

    def compare_and_swap(self, old, new):
        """Store ``new`` if the value equals ``old``; return whether it did."""
        code = self._code
        try:
            return _call("value.compare_and_swap", {
                "name": self._name, "old": _to_wire(code, old), "new": _to_wire(code, new)})["swapped"]
        except RemoteError as e:
            raise _translate(e) from None

    def __repr__(self):
        try:
            v = self.value
        except Exception:
            v = "?"
        return "%s(%r)" % (_CTYPE_NAMES.get(self._code, self._code), v)


class Synchronized(RawValue):
    """multiprocessing.Value: a RawValue with a lock (get_lock, get_obj,
    acquire, release, and a context manager)."""

    def __init__(self, typecode_or_type, *args, lock=True, name=None):
        RawValue.__init__(self, typecode_or_type, *args, name=name)
        self._lock = lock
        self._lockobj = None if lock is True else lock

    def _getstate(self):
        return (self._code, self._lock if self._lock is not True else None)

    def _setstate(self, state):
        self._code, lock = state
        self._lock = True if lock is None else lock
        self._lockobj = lock

    def get_lock(self):
        lk = self._lockobj
        if lk is None:
            lk = RLock(name=self._name + ".lock")
            self._lockobj = lk
        return lk

    def get_obj(self):
        obj = RawValue.__new__(RawValue)
        obj._name = self._name
        obj._code = self._code
        return obj

    def acquire(self, *args):
        return self.get_lock().acquire(*args)

    def release(self):
        return self.get_lock().release()

    def __enter__(self):
        return self.get_lock().__enter__()

    def __exit__(self, *args):
        return self.get_lock().__exit__(*args)

    def __repr__(self):
        return "<Synchronized wrapper for %s>" % (RawValue.__repr__(self),)


def Value(typecode_or_type, *args, lock=True, ctx=None):
    """multiprocessing.Value(typecode_or_type, *args, lock=True)."""
    lock = _check_lock(lock)
    if lock is False:
        return RawValue(typecode_or_type, *args)
    return Synchronized(typecode_or_type, *args, lock=lock)


# ---------------------------------------------------------------------------
# Arrays


@_register("array")
class RawArray(SharedObject):
    """multiprocessing.RawArray: a fixed-length shared array, no lock."""

    _kind = "array"

    def __init__(self, typecode_or_type, size_or_initializer, name=None):
        code = typecode_of(typecode_or_type)
        self._code = code
        self._name = name or _new_name("array")
        params = {"typecode": _wire_code(code)}
        if isinstance(size_or_initializer, int):
            if size_or_initializer < 0:
                raise ValueError("array size must be >= 0")
            params["size"] = size_or_initializer
            self._len = size_or_initializer
        else:
            if code == "c" and isinstance(size_or_initializer, (bytes, bytearray)):
                init = [chr(b) for b in size_or_initializer]
            elif code == "u" and isinstance(size_or_initializer, str):
                init = list(size_or_initializer)
            else:
                init = [_to_wire(code, v) for v in size_or_initializer]
            params["initial"] = init
            self._len = len(init)
        _create("array", self._name, params)

    def __corral_handle__(self):
        return {"$corral": "array", "name": self._name, "typecode": _wire_code(self._code)}

    to_json = __corral_handle__

    def _getstate(self):
        return (self._code, self._len)

    def _setstate(self, state):
        self._code, self._len = state

    @classmethod
    def _from_handle(cls, h):
        obj = SynchronizedArray.__new__(SynchronizedArray)
        obj._name = h["name"]
        obj._code = h.get("typecode") or "d"
        obj._len = None
        obj._lock = True
        obj._lockobj = None
        return obj

    def __len__(self):
        n = self._len
        if n is None:
            n = self._len = _call("array.len", {"name": self._name})["len"]
        return n

    def _values(self, start=None, stop=None):
        p = {"name": self._name}
        if start is not None:
            p["start"] = start
        if stop is not None:
            p["stop"] = stop
        try:
            vals = _client().call("array.slice", p)["values"]
        except RemoteError as e:
            raise _translate(e) from None
        code = self._code
        if code == "c":
            return "".join(vals).encode("latin-1")
        if code == "u":
            return "".join(vals)
        if code == "?":
            return [bool(v) for v in vals]
        return vals

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step == 1:
                if stop <= start:
                    return self._values(0, 0)
                return self._values(start, stop)
            return self._values()[i]
        try:
            v = _client().call("array.get", {"name": self._name, "index": i.__index__()})["value"]
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise IndexError("invalid index") from None
            raise _translate(e) from None
        return _from_wire(self._code, v)

    def __setitem__(self, i, value):
        code = self._code
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if code == "c" and isinstance(value, (bytes, bytearray)):
                vals = [chr(b) for b in value]
            elif code == "u" and isinstance(value, str):
                vals = list(value)
            else:
                vals = [_to_wire(code, v) for v in value]
            if step == 1:
                if stop < start:
                    stop = start
                if len(vals) != stop - start:
                    raise ValueError("Can only assign sequence of same size")
                try:
                    _client().call("array.set_slice", {"name": self._name, "start": start, "stop": stop,
                                                       "values": vals})
                except RemoteError as e:
                    raise _translate(e) from None
                return
            idx = range(start, stop, step)
            if len(vals) != len(idx):
                raise ValueError("Can only assign sequence of same size")
            for j, v in zip(idx, vals):
                self._set(j, v)
            return
        i = i.__index__()
        w = _to_wire(code, value)
        n = self._len
        if n is not None and (code in _BITS or code == "d" or code == "?"):
            if i < -n or i >= n:
                raise IndexError("invalid index")
            _client().send("array.set", {"name": self._name, "index": i, "value": w})
            return
        self._set(i, w)

    def _set(self, i, v):
        try:
            _client().call("array.set", {"name": self._name, "index": i, "value": v})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR and (e.data or {}).get("type") == "IndexError":
                raise IndexError("invalid index") from None
            raise _translate(e) from None

    def __iter__(self):
        return iter(self._values())

    def __reversed__(self):
        return reversed(self._values())

    def __contains__(self, v):
        return v in self._values()

    # 'c' arrays: .value and .raw, as ctypes' c_char arrays.

    @property
    def value(self):
        if self._code == "u":
            s = self._values()
            i = s.find("\x00")
            return s if i < 0 else s[:i]
        if self._code != "c":
            raise AttributeError("'%s' array has no attribute 'value'" % self._code)
        b = self._values()
        i = b.find(b"\x00")
        return b if i < 0 else b[:i]

    @value.setter
    def value(self, v):
        n = len(self)
        if self._code == "u":
            if not isinstance(v, str):
                raise TypeError("unicode string expected instead of %s instance" % type(v).__name__)
            if len(v) > n:
                raise ValueError("string too long")
            s = v + ("\x00" if len(v) < n else "")
            self[0:len(s)] = s
            return
        if self._code != "c":
            raise AttributeError("'%s' array has no attribute 'value'" % self._code)
        if not isinstance(v, (bytes, bytearray)):
            raise TypeError("bytes expected instead of %s instance" % type(v).__name__)
        if len(v) > n:
            raise ValueError("byte string too long")
        b = bytes(v) + (b"\x00" if len(v) < n else b"")
        self[0:len(b)] = b

    @property
    def raw(self):
        if self._code != "c":
            raise AttributeError("'%s' array has no attribute 'raw'" % self._code)
        return self._values()

    @raw.setter
    def raw(self, v):
        if self._code != "c":
            raise AttributeError("'%s' array has no attribute 'raw'" % self._code)
        v = bytes(v)
        if len(v) > len(self):
            raise ValueError("byte string too long")
        self[0:len(v)] = v

    def __repr__(self):
        return "<%s %s of %s>" % (type(self).__name__, self._name, _CTYPE_NAMES.get(self._code, self._code))


class SynchronizedArray(RawArray):
    """multiprocessing.Array: a RawArray with a lock."""

    def __init__(self, typecode_or_type, size_or_initializer, lock=True, name=None):
        RawArray.__init__(self, typecode_or_type, size_or_initializer, name=name)
        self._lock = lock
        self._lockobj = None if lock is True else lock

    def _getstate(self):
        return (self._code, self._len, self._lock if self._lock is not True else None)

    def _setstate(self, state):
        self._code, self._len, lock = state
        self._lock = True if lock is None else lock
        self._lockobj = lock

    get_lock = Synchronized.get_lock
    acquire = Synchronized.acquire
    release = Synchronized.release
    __enter__ = Synchronized.__enter__
    __exit__ = Synchronized.__exit__

    def get_obj(self):
        obj = RawArray.__new__(RawArray)
        obj._name = self._name
        obj._code = self._code
        obj._len = self._len
        return obj

    def __repr__(self):
        return "<SynchronizedArray wrapper for %s>" % (RawArray.__repr__(self),)


def Array(typecode_or_type, size_or_initializer, *, lock=True, ctx=None):
    """multiprocessing.Array(typecode_or_type, size_or_initializer, lock=True)."""
    lock = _check_lock(lock)
    if lock is False:
        return RawArray(typecode_or_type, size_or_initializer)
    return SynchronizedArray(typecode_or_type, size_or_initializer, lock=lock)

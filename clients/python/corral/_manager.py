"""Manager(): multiprocessing's SyncManager over the corral supervisor.

There is no manager process: the supervisor already hosts every shared
object, so a manager only names them. ``Manager()`` returns a
:class:`SyncManager` whose dict, list, Namespace, Queue, JoinableQueue,
Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, Value
and Array make proxies that behave as multiprocessing's (DictProxy,
ListProxy, NamespaceProxy, ValueProxy, ArrayProxy …); ``shutdown()`` (also
at the end of a ``with`` block) deletes the objects the manager made.

Dict keys keep their types (1, '2', 0.25 and (1, 2) stay distinct, as in a
Python dict) and their insertion order; values are plain JSON where they
can be (readable by Go and shell peers), else pickled.
"""

import threading

from . import _errors
from ._errors import RemoteError
from . import _objects as _o
from ._objects import (
    SharedObject, _PLAIN, _call, _client, _create, _new_name, _register, _translate,
    decode, decode_key, encode, encode_key,
)

__all__ = ["Manager", "SyncManager", "BaseManager", "DictProxy", "ListProxy",
           "NamespaceProxy", "ValueProxy", "ArrayProxy"]


def _dec(v):
    return v if type(v) in _PLAIN else decode(v)


# ---------------------------------------------------------------------------
# dict


@_register("dict")
class DictProxy(SharedObject):
    """A shared dict (Manager().dict())."""

    _kind = "dict"

    def __init__(self, *args, name=None, **kwargs):
        self._name = name or _new_name("dict")
        _create("dict", self._name)
        if args or kwargs:
            self.update(*args, **kwargs)

    def _op(self, method, p, key=None):
        try:
            return _client().call(method, p)
        except RemoteError as e:
            raise _translate(e, key) from None

    def __getitem__(self, key):
        # dict.pop with a default tells a missing key from a stored null
        # without a second request: get with a sentinel default.
        r = self._op("dict.get", {"name": self._name, "key": encode_key(key),
                                  "default": _MISSING_JSON})["value"]
        if type(r) is dict and r.get("$corral-missing") is True and len(r) == 1:
            raise KeyError(key)
        return _dec(r)

    def __setitem__(self, key, value):
        # A set cannot wait, and answers nothing: sent without waiting (see
        # _objects._Sync).
        _client().send("dict.set", {"name": self._name, "key": encode_key(key), "value": encode(value)})

    def __delitem__(self, key):
        self._op("dict.delete", {"name": self._name, "key": encode_key(key)}, key)

    def __contains__(self, key):
        try:
            k = encode_key(key)
        except TypeError:
            raise
        return self._op("dict.contains", {"name": self._name, "key": k})["contains"]

    def __len__(self):
        return _client().call("dict.len", {"name": self._name})["len"]

    def __iter__(self):
        return _DictIter(self)

    def get(self, key, default=None):
        r = self._op("dict.get", {"name": self._name, "key": encode_key(key),
                                  "default": _MISSING_JSON})["value"]
        if type(r) is dict and r.get("$corral-missing") is True and len(r) == 1:
            return default
        return _dec(r)

    def keys(self):
        return [decode_key(k) for k in self._op("dict.keys", {"name": self._name})["keys"]]

    def values(self):
        return [_dec(v) for v in self._op("dict.values", {"name": self._name})["values"]]

    def items(self):
        return [(decode_key(k), _dec(v)) for k, v in self._op("dict.items", {"name": self._name})["items"]]

    def copy(self):
        return {decode_key(k): _dec(v) for k, v in self._op("dict.copy", {"name": self._name})["items"]}

    _getvalue = copy

    def update(self, *args, **kwargs):
        if len(args) > 1:
            raise TypeError("update expected at most 1 argument, got %d" % len(args))
        pairs = []
        if args:
            other = args[0]
            if isinstance(other, DictProxy):
                other = other.copy()
            if hasattr(other, "keys"):
                for k in other.keys():
                    pairs.append([encode_key(k), encode(other[k])])
            else:
                for kv in other:
                    k, v = kv
                    pairs.append([encode_key(k), encode(v)])
        for k, v in kwargs.items():
            pairs.append([k, encode(v)])
        if pairs:
            self._op("dict.update", {"name": self._name, "pairs": pairs})

    def pop(self, key, *default):
        if len(default) > 1:
            raise TypeError("pop expected at most 2 arguments, got %d" % (1 + len(default)))
        p = {"name": self._name, "key": encode_key(key)}
        if default:
            p["default"] = _MISSING_JSON
        r = self._op("dict.pop", p, key)["value"]
        if default and type(r) is dict and r.get("$corral-missing") is True and len(r) == 1:
            return default[0]
        return _dec(r)

    def popitem(self):
        try:
            r = _client().call("dict.popitem", {"name": self._name})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise KeyError("popitem(): dictionary is empty") from None
            raise _translate(e) from None
        return (decode_key(r["key"]), _dec(r["value"]))

    def setdefault(self, key, default=None):
        return _dec(self._op("dict.setdefault", {"name": self._name, "key": encode_key(key),
                                                 "default": encode(default)})["value"])

    def clear(self):
        self._op("dict.clear", {"name": self._name})

    def __str__(self):
        return str(self.copy())

    def __repr__(self):
        return "<DictProxy object, typeid 'dict' at %#x>" % id(self)


_MISSING_JSON = {"$corral-missing": True}


class _DictIter(object):
    """Iterates the keys of a DictProxy as they were when it was made; a
    dict that changed size meanwhile raises RuntimeError, as a dict's
    iterator does."""

    def __init__(self, d):
        self._d = d
        self._keys = d.keys()
        self._n = len(self._keys)
        self._i = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._i >= len(self._keys):
            self._keys = ()
            raise StopIteration
        if len(self._d) != self._n:
            self._keys = ()
            raise RuntimeError("dictionary changed size during iteration")
        k = self._keys[self._i]
        self._i += 1
        return k


# ---------------------------------------------------------------------------
# list


@_register("list")
class ListProxy(SharedObject):
    """A shared list (Manager().list())."""

    _kind = "list"

    def __init__(self, sequence=(), name=None):
        self._name = name or _new_name("list")
        items = [encode(x) for x in sequence]
        _create("list", self._name, {"initial": items} if items else None)

    def _op(self, method, p):
        try:
            return _client().call(method, p)
        except RemoteError as e:
            raise _translate(e) from None

    def _all(self):
        return [_dec(x) for x in self._op("list.slice", {"name": self._name})["items"]]

    _getvalue = _all

    def __len__(self):
        return _client().call("list.len", {"name": self._name})["len"]

    def __getitem__(self, i):
        if isinstance(i, slice):
            p = {"name": self._name}
            if i.start is not None:
                p["start"] = i.start.__index__()
            if i.stop is not None:
                p["stop"] = i.stop.__index__()
            if i.step is not None:
                p["step"] = i.step.__index__()
            return [_dec(x) for x in self._op("list.slice", p)["items"]]
        try:
            r = _client().call("list.get", {"name": self._name, "index": i.__index__()})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise IndexError("list index out of range") from None
            raise _translate(e) from None
        return _dec(r["item"])

    def __setitem__(self, i, value):
        if isinstance(i, slice):
            items = self._all()
            items[i] = value
            self._replace(items)
            return
        try:
            _client().call("list.set", {"name": self._name, "index": i.__index__(), "item": encode(value)})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise IndexError("list assignment index out of range") from None
            raise _translate(e) from None

    def __delitem__(self, i):
        p = {"name": self._name}
        if isinstance(i, slice):
            if i.start is not None:
                p["start"] = i.start.__index__()
            if i.stop is not None:
                p["stop"] = i.stop.__index__()
            if i.step is not None:
                p["step"] = i.step.__index__()
            if len(p) == 1:
                p["start"] = 0
        else:
            p["index"] = i.__index__()
        try:
            _client().call("list.delete", p)
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR and (e.data or {}).get("type") == "IndexError":
                raise IndexError("list assignment index out of range") from None
            raise _translate(e) from None

    def _replace(self, items):
        self._op("list.delete", {"name": self._name, "start": 0})
        if items:
            self._op("list.extend", {"name": self._name, "items": [encode(x) for x in items]})

    def __iter__(self):
        i = 0
        c = _client()
        while True:
            try:
                r = c.call("list.get", {"name": self._name, "index": i})
            except RemoteError as e:
                if e.code == _errors.VALUE_ERROR:
                    return
                raise _translate(e) from None
            yield _dec(r["item"])
            i += 1

    def __reversed__(self):
        return reversed(self._all())

    def __contains__(self, item):
        return self.count(item) > 0 if _json_equalish(item) else item in self._all()

    def append(self, item):
        _client().send("list.append", {"name": self._name, "item": encode(item)})

    def extend(self, items):
        if isinstance(items, ListProxy):
            items = items._all()
        _client().send("list.extend", {"name": self._name, "items": [encode(x) for x in items]})

    def insert(self, index, item):
        self._op("list.insert", {"name": self._name, "index": index.__index__(), "item": encode(item)})

    def pop(self, index=-1):
        try:
            r = _client().call("list.pop", {"name": self._name, "index": index.__index__()})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise IndexError("pop from empty list" if e.message.find("empty") >= 0
                                 else "pop index out of range") from None
            raise _translate(e) from None
        return _dec(r["item"])

    def remove(self, item):
        if _json_equalish(item):
            try:
                _client().call("list.remove", {"name": self._name, "item": encode(item)})
            except RemoteError as e:
                if e.code == _errors.VALUE_ERROR:
                    raise ValueError("list.remove(x): x not in list") from None
                raise _translate(e) from None
            return
        items = self._all()
        i = items.index(item)
        self.__delitem__(i)

    def index(self, item, *args):
        if _json_equalish(item):
            p = {"name": self._name, "item": encode(item)}
            if len(args) > 0:
                p["start"] = args[0]
            if len(args) > 1:
                p["stop"] = args[1]
            try:
                return _client().call("list.index", p)["index"]
            except RemoteError as e:
                if e.code == _errors.VALUE_ERROR:
                    raise ValueError("%r is not in list" % (item,)) from None
                raise _translate(e) from None
        return self._all().index(item, *args)

    def count(self, item):
        if _json_equalish(item):
            return self._op("list.count", {"name": self._name, "item": encode(item)})["count"]
        return self._all().count(item)

    def reverse(self):
        self._op("list.reverse", {"name": self._name})

    def sort(self, *, key=None, reverse=False):
        if key is None:
            try:
                _client().call("list.sort", {"name": self._name, "reverse": bool(reverse)})
                return
            except RemoteError as e:
                if e.code != _errors.VALUE_ERROR:
                    raise _translate(e) from None
        items = self._all()
        items.sort(key=key, reverse=reverse)
        self._replace(items)

    def __add__(self, other):
        return self._all() + list(other)

    def __radd__(self, other):
        return list(other) + self._all()

    def __iadd__(self, other):
        self.extend(other)
        return self

    def __mul__(self, n):
        return self._all() * n

    __rmul__ = __mul__

    def __imul__(self, n):
        items = self._all()
        if n <= 0:
            self._op("list.delete", {"name": self._name, "start": 0})
        elif n > 1:
            self._op("list.extend", {"name": self._name, "items": [encode(x) for x in items] * (n - 1)})
        return self

    def __str__(self):
        return str(self._all())

    def __repr__(self):
        return "<ListProxy object, typeid 'list' at %#x>" % id(self)


def _json_equalish(item):
    """Whether the supervisor's equality (by JSON value) agrees with
    Python's for item: numbers (not bools), strings, None."""
    t = type(item)
    return t is str or t is int or t is float or t is type(None)


# ---------------------------------------------------------------------------
# Namespace


@_register("namespace")
class NamespaceProxy(SharedObject):
    """A shared namespace (Manager().Namespace()). Attributes whose names
    start with '_' stay on the proxy, as multiprocessing's."""

    _kind = "namespace"

    def __init__(self, name=None, **kwds):
        object.__setattr__(self, "_name", name or _new_name("namespace"))
        _create("namespace", self._name)
        for k, v in kwds.items():
            setattr(self, k, v)

    def _setstate(self, state):
        pass

    # "name" is a namespace attribute like any other, not the object's name.
    name = property(lambda self: self.__getattr__("name"))

    @classmethod
    def _from_handle(cls, h):
        obj = cls.__new__(cls)
        object.__setattr__(obj, "_name", h["name"])
        return obj

    def __getattr__(self, attr):
        if attr[:1] == "_":
            raise AttributeError(attr)
        try:
            r = _client().call("namespace.get", {"name": self._name, "attr": attr})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise AttributeError("'Namespace' object has no attribute %r" % attr) from None
            raise _translate(e) from None
        return _dec(r["value"])

    def __setattr__(self, attr, value):
        if attr[:1] == "_":
            return object.__setattr__(self, attr, value)
        _client().send("namespace.set", {"name": self._name, "attr": attr, "value": encode(value)})

    def __delattr__(self, attr):
        if attr[:1] == "_":
            return object.__delattr__(self, attr)
        try:
            _client().call("namespace.delete", {"name": self._name, "attr": attr})
        except RemoteError as e:
            if e.code == _errors.VALUE_ERROR:
                raise AttributeError(attr) from None
            raise _translate(e) from None

    def _attrs(self):
        return {k: _dec(v) for k, v in _call("namespace.attrs", {"name": self._name})["attrs"].items()}

    def __str__(self):
        items = self._attrs()
        temp = []
        for name, value in items.items():
            if not name.startswith("_"):
                temp.append("%s=%r" % (name, value))
        temp.sort()
        return "%s(%s)" % ("Namespace", ", ".join(temp))

    def __repr__(self):
        return "<NamespaceProxy object, typeid 'Namespace' at %#x>" % id(self)

    def __reduce__(self):
        return (_rebuild_ns, (self._name,))


def _rebuild_ns(name):
    obj = NamespaceProxy.__new__(NamespaceProxy)
    object.__setattr__(obj, "_name", name)
    return obj


# ---------------------------------------------------------------------------
# Value and Array


class ValueProxy(SharedObject):
    """Manager().Value(typecode, value): any picklable value (the typecode is
    not enforced, as multiprocessing's), with get(), set() and .value. It
    is a namespace whose attribute ``value`` holds it."""

    _kind = "namespace"

    def __init__(self, typecode, value, lock=True, name=None):
        self._name = name or _new_name("value")
        self._typecode = typecode
        _create("namespace", self._name)
        self.set(value)

    def _getstate(self):
        return self._typecode

    def _setstate(self, state):
        self._typecode = state

    def get(self):
        try:
            r = _client().call("namespace.get", {"name": self._name, "attr": "value"})
        except RemoteError as e:
            raise _translate(e) from None
        return _dec(r["value"])

    def set(self, value):
        _client().send("namespace.set", {"name": self._name, "attr": "value", "value": encode(value)})

    value = property(get, set)

    def __repr__(self):
        return "<ValueProxy object, typeid 'Value' at %#x>" % id(self)


class ArrayProxy(SharedObject):
    """Manager().Array(typecode, sequence): a typed array (len, indexing,
    slicing)."""

    _kind = "array"

    def __init__(self, typecode, sequence, lock=True, name=None):
        from ._ctypes import RawArray
        self._arr = RawArray(typecode, sequence, name=name)
        self._name = self._arr._name

    def __corral_handle__(self):
        return self._arr.__corral_handle__()

    to_json = __corral_handle__

    def _getstate(self):
        return self._arr

    def _setstate(self, state):
        self._arr = state

    def __len__(self):
        return len(self._arr)

    def __getitem__(self, i):
        return self._arr[i]

    def __setitem__(self, i, v):
        if isinstance(i, slice):
            old = self._arr[i]
            if len(old) != len(v):
                raise ValueError("can only assign array (not \"list\") of the same length")
        self._arr[i] = v

    def __iter__(self):
        return iter(self._arr)

    def __str__(self):
        import array
        vals = self._arr[:]
        code = self._arr._code
        if code == "c":
            return str(vals)
        return str(array.array(code if code != "?" else "B", vals))

    def __repr__(self):
        return "<ArrayProxy object, typeid 'Array' at %#x>" % id(self)


# ---------------------------------------------------------------------------
# The manager


class _ManagerQueue(_o.JoinableQueue):
    """Manager().Queue(): queue.Queue's API (also task_done and join)."""

    def get(self, block=True, timeout=None):
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        return _o.JoinableQueue.get(self, block, timeout)

    def put(self, obj, block=True, timeout=None):
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        return _o.JoinableQueue.put(self, obj, block, timeout)


class _ManagerLock(_o.Lock):
    """Manager().Lock(): threading.Lock's API (release of an unlocked lock
    raises RuntimeError)."""

    def release(self):
        try:
            _o.Lock.release(self)
        except ValueError:
            raise RuntimeError("release unlocked lock") from None


class _ManagerRLock(_o.RLock):
    def release(self):
        try:
            _o.RLock.release(self)
        except AssertionError:
            raise RuntimeError("cannot release un-acquired lock") from None


class _ManagerCondition(_o.Condition):
    def release(self):
        try:
            _o.Condition.release(self)
        except AssertionError:
            raise RuntimeError("cannot release un-acquired lock") from None


class _ManagerEvent(_o.Event):
    def __repr__(self):
        return "<EventProxy object, typeid 'Event' at %#x>" % id(self)


class SyncManager(object):
    """multiprocessing.managers.SyncManager, with the supervisor as the
    server. ``address`` is the supervisor's socket."""

    def __init__(self, address=None, authkey=None, serializer="pickle", ctx=None, *, shutdown_timeout=1.0):
        self._address = address
        self._objects = []
        self._mu = threading.Lock()
        self._state = "initial"

    # -- life -------------------------------------------------------------

    def start(self, initializer=None, initargs=()):
        if self._state == "started":
            raise RuntimeError("Already started server")
        if self._state == "shutdown":
            raise RuntimeError("Manager has shut down")
        _client()
        if initializer is not None:
            initializer(*initargs)
        self._state = "started"

    def connect(self):
        _client()
        self._state = "started"

    def get_server(self):
        raise NotImplementedError("corral: the supervisor is the server; a Manager needs no serve_forever()")

    @property
    def address(self):
        if self._address is None:
            try:
                self._address = _o._socket_path()
            except Exception:
                return None
        return self._address

    def shutdown(self):
        """Delete the objects this manager made (their proxies stop
        working, as after a manager's shutdown)."""
        if self._state != "started":
            return
        self._state = "shutdown"
        with self._mu:
            names, self._objects = self._objects, []
        c = _client()
        for n in names:
            try:
                c.call("object.delete", {"name": n})
            except RemoteError:
                pass

    def join(self, timeout=None):
        pass

    def __enter__(self):
        if self._state == "initial":
            self.start()
        if self._state != "started":
            raise OSError("Unable to start server")
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.shutdown()

    def _number_of_objects(self):
        return len(self._objects)

    def _debug_info(self):
        return "\n".join(self._objects)

    def _check(self):
        if self._state == "initial":
            self.start()
        elif self._state == "shutdown":
            raise RuntimeError("corral: this Manager has been shut down")

    def _add(self, obj, *extra):
        with self._mu:
            self._objects.append(obj._name)
            self._objects.extend(extra)
        return obj

    # -- types ------------------------------------------------------------

    def dict(self, *args, **kwargs):
        self._check()
        return self._add(DictProxy(*args, **kwargs))

    def list(self, sequence=()):
        self._check()
        return self._add(ListProxy(sequence))

    def Namespace(self, **kwds):
        self._check()
        return self._add(NamespaceProxy(**kwds))

    def Queue(self, maxsize=0):
        self._check()
        return self._add(_ManagerQueue(maxsize))

    def JoinableQueue(self, maxsize=0):
        self._check()
        return self._add(_ManagerQueue(maxsize))

    def Lock(self):
        self._check()
        return self._add(_ManagerLock())

    def RLock(self):
        self._check()
        return self._add(_ManagerRLock())

    def Semaphore(self, value=1):
        self._check()
        return self._add(_o.Semaphore(value))

    def BoundedSemaphore(self, value=1):
        self._check()
        return self._add(_o.BoundedSemaphore(value))

    def Condition(self, lock=None):
        self._check()
        return self._add(_ManagerCondition(lock))

    def Event(self):
        self._check()
        return self._add(_ManagerEvent())

    def Barrier(self, parties, action=None, timeout=None):
        self._check()
        b = _o.Barrier(parties, action, timeout)
        return self._add(b, b._name + ".action") if action is not None else self._add(b)

    def Value(self, typecode, value, lock=True):
        self._check()
        return self._add(ValueProxy(typecode, value, lock))

    def Array(self, typecode, sequence, lock=True):
        self._check()
        return self._add(ArrayProxy(typecode, sequence, lock))

    def Pool(self, *args, **kwargs):
        import corral
        return corral.Pool(*args, **kwargs)


BaseManager = SyncManager


def Manager(*, ctx=None):
    """multiprocessing.Manager(): a started SyncManager."""
    m = SyncManager()
    m.start()
    return m

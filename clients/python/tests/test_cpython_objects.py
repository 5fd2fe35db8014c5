"""CPython's own multiprocessing tests for shared objects, run against corral.

The test classes of Lib/test/_test_multiprocessing.py (shipped with this
Python) for queues, locks, semaphores, conditions, events, barriers, values,
arrays, manager containers and pipes are mixed with corral's objects and
Process, as CPython mixes them with its own for each start method:
``WithCorralTestQueue`` is ``_TestQueue`` with ``self.Queue`` being
``corral.Queue`` and ``self.Process`` being ``corral.Process``, and
``WithCorralManagerTestContainers`` is ``_TestContainers`` over
``corral.Manager()``.

A few tests are replaced here, each saying why: the originals call the
standard library's multiprocessing directly (``multiprocessing.Queue()``,
its heap, its feeder thread, fd passing) rather than the class under test,
so they would test CPython, not corral; the replacements run the same
checks on corral's objects. What corral does differently on purpose is
listed in README_objects.md.
"""

import inspect
import operator
import os
import textwrap
import types
import sys
import threading
import time
import unittest

try:
    from test import _test_multiprocessing as T
except ImportError:  # a Python built without its test package
    T = None

import corral

if T is None:
    raise unittest.SkipTest("this Python has no test._test_multiprocessing")

if "CORRAL_SOCKET" not in os.environ:
    # Start the sidecar before any test builds objects.
    corral.get_client()


class CorralMixin(T.ProcessesMixin):
    # ProcessesMixin's attributes, all replaced by corral's (the class is
    # kept so that isinstance(self, ProcessesMixin) holds, as the tests
    # check it to tell processes from threads).
    TYPE = "processes"
    Process = corral.Process
    parent_process = staticmethod(corral.parent_process)
    Pool = staticmethod(corral.Pool)
    current_process = staticmethod(corral.current_process)
    active_children = staticmethod(corral.active_children)
    Pipe = staticmethod(corral.Pipe)
    Queue = staticmethod(corral.Queue)
    JoinableQueue = staticmethod(corral.JoinableQueue)
    Lock = staticmethod(corral.Lock)
    RLock = staticmethod(corral.RLock)
    Semaphore = staticmethod(corral.Semaphore)
    BoundedSemaphore = staticmethod(corral.BoundedSemaphore)
    Condition = staticmethod(corral.Condition)
    Event = staticmethod(corral.Event)
    Barrier = staticmethod(corral.Barrier)
    Value = staticmethod(corral.Value)
    Array = staticmethod(corral.Array)
    RawValue = staticmethod(corral.RawValue)
    RawArray = staticmethod(corral.RawArray)


class CorralManagerMixin(T.BaseMixin):
    TYPE = "manager"
    Process = corral.Process
    Queue = property(operator.attrgetter("manager.Queue"))
    JoinableQueue = property(operator.attrgetter("manager.JoinableQueue"))
    Lock = property(operator.attrgetter("manager.Lock"))
    RLock = property(operator.attrgetter("manager.RLock"))
    Semaphore = property(operator.attrgetter("manager.Semaphore"))
    BoundedSemaphore = property(operator.attrgetter("manager.BoundedSemaphore"))
    Condition = property(operator.attrgetter("manager.Condition"))
    Event = property(operator.attrgetter("manager.Event"))
    Barrier = property(operator.attrgetter("manager.Barrier"))
    Value = property(operator.attrgetter("manager.Value"))
    Array = property(operator.attrgetter("manager.Array"))
    list = property(operator.attrgetter("manager.list"))
    dict = property(operator.attrgetter("manager.dict"))
    Namespace = property(operator.attrgetter("manager.Namespace"))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = corral.Manager()

    @classmethod
    def tearDownClass(cls):
        cls.manager.shutdown()
        cls.manager.join()
        cls.manager = None
        super().tearDownClass()


def patched(cls, name, old, new):
    """CPython's test method ``cls.name`` with the text ``old`` replaced by
    ``new`` (the rest runs verbatim, in the original module's globals)."""
    src = textwrap.dedent(inspect.getsource(getattr(cls, name)))
    if old not in src:
        raise AssertionError("%s.%s no longer contains %r" % (cls.__name__, name, old))
    ns = {}
    exec(compile(src.replace(old, new), T.__file__, "exec"), vars(T), ns)
    return ns[name]


def with_corral(cls, *names):
    """The test methods ``names`` of CPython's ``cls``, run with the module
    name ``multiprocessing`` meaning corral (for the tests that call
    ``multiprocessing.SimpleQueue()`` … rather than ``self.…``)."""
    g = dict(vars(T))
    g["multiprocessing"] = corral
    out = {}
    for name in names:
        fn = cls.__dict__[name]
        out[name] = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
    return out


def condition_invariant(self, cond):
    """check_invariant: no process or thread is left waiting on cond. The
    original reads multiprocessing.Condition's private semaphores; this asks
    the supervisor for the condition's parked waits."""
    objs = corral.get_client().call("object.list", {})["objects"]
    mine = [o for o in objs if o["name"] == cond._name]
    self.assertEqual(len(mine), 1)
    self.assertEqual(mine[0].get("waiters", 0), 0)


# -- a counter shared by processes, for the barrier tests -------------------

class CorralDummyList(object):
    """_DummyList (a list used as an atomic counter) over corral's Value:
    the original uses the standard library's heap and Lock, which cannot be
    handed to a corral Process."""

    def __init__(self):
        self._v = corral.Value("i", 0)

    def append(self, _):
        with self._v.get_lock():
            self._v.value += 1

    def __len__(self):
        return self._v.value


# -- the test classes -------------------------------------------------------

class WithCorralTestQueue(T._TestQueue, CorralMixin, unittest.TestCase):

    def test_timeout(self):
        # The original builds multiprocessing.Queue() itself.
        q = self.Queue()
        start = time.monotonic()
        self.assertRaises(T.pyqueue.Empty, q.get, True, 0.200)
        delta = time.monotonic() - start
        self.assertGreaterEqual(delta, 0.100)

    def test_closed_queue_put_get_exceptions(self):
        # The original builds multiprocessing.Queue() and JoinableQueue().
        for q in self.Queue(), self.JoinableQueue():
            q.close()
            with self.assertRaisesRegex(ValueError, "is closed"):
                q.put("foo")
            with self.assertRaisesRegex(ValueError, "is closed"):
                q.get()

    def test_no_import_lock_contention(self):
        # The original writes a module that imports multiprocessing; this
        # one imports corral, and uses a queue while being imported.
        from test.support import os_helper, import_helper
        with os_helper.temp_cwd():
            module_name = "corral_imported_by_an_imported_module"
            with open(module_name + ".py", "w", encoding="utf-8") as f:
                f.write("if 1:\n"
                        "    import corral as multiprocessing\n"
                        "    q = multiprocessing.Queue()\n"
                        "    q.put('knock knock')\n"
                        "    q.get(timeout=3)\n"
                        "    q.close()\n"
                        "    del q\n")
            with import_helper.DirsOnSysPath(os.getcwd()):
                try:
                    __import__(module_name)
                except T.pyqueue.Empty:
                    self.fail("Probable regression on import lock contention")

    def test_queue_feeder_donot_stop_onexc(self):
        # The original checks the feeder thread of multiprocessing.Queue,
        # which corral has none of: put() pickles at once, so an object that
        # cannot be pickled fails in put() and the queue goes on.
        class NotSerializable(object):
            def __reduce__(self):
                raise AttributeError
        q = self.Queue()
        self.assertRaises(AttributeError, q.put, NotSerializable())
        q.put(True)
        self.assertTrue(q.get(timeout=T.support.SHORT_TIMEOUT))
        q = self.Queue(maxsize=1)
        self.assertRaises(AttributeError, q.put, NotSerializable())
        q.put(True)
        self.assertEqual(q.qsize(), 1)
        self.assertTrue(q.get(timeout=T.support.SHORT_TIMEOUT))
        self.assertTrue(q.empty())

    @unittest.skip("multiprocessing.queues.Queue's feeder-thread hook; corral's put() raises at once "
                   "(see test_queue_feeder_donot_stop_onexc)")
    def test_queue_feeder_on_queue_feeder_error(self):
        pass


class WithCorralTestLock(T._TestLock, CorralMixin, unittest.TestCase):
    pass


class WithCorralTestSemaphore(T._TestSemaphore, CorralMixin, unittest.TestCase):
    pass


class WithCorralTestCondition(T._TestCondition, CorralMixin, unittest.TestCase):
    check_invariant = condition_invariant


class WithCorralTestEvent(T._TestEvent, CorralMixin, unittest.TestCase):
    pass


class WithCorralTestBarrier(T._TestBarrier, CorralMixin, unittest.TestCase):

    def DummyList(self):
        return CorralDummyList()


class WithCorralTestValue(T._TestValue, CorralMixin, unittest.TestCase):
    pass


class WithCorralTestArray(T._TestArray, CorralMixin, unittest.TestCase):
    pass


_NO_FDS = ("a corral Pipe end lives in the supervisor and has no file descriptor, so none can be "
           "passed over it (multiprocessing.reduction.send_handle)")


class WithCorralTestConnection(T._TestConnection, CorralMixin, unittest.TestCase):
    # Verbatim but for fileno(), which a corral pipe end refuses clearly.
    test_connection = patched(T._TestConnection, "test_connection",
                              "self.assertEqual(type(conn.fileno()), int)",
                              "self.assertRaises(OSError, conn.fileno)")

    test_fd_transfer = unittest.skip(_NO_FDS)(lambda self: None)
    test_large_fd_transfer = unittest.skip(_NO_FDS)(lambda self: None)
    test_missing_fd_transfer = unittest.skip(_NO_FDS)(lambda self: None)


class WithCorralTestPoll(T._TestPoll, CorralMixin, unittest.TestCase):
    pass


class CorralTestSimpleQueue(T.TestSimpleQueue):
    locals().update(with_corral(T.TestSimpleQueue, "test_empty", "test_close"))
    test_closed = unittest.skip("multiprocessing.SimpleQueue's private _reader and _writer")(lambda self: None)


class CorralTestSyncManagerTypes(T.TestSyncManagerTypes):
    manager_class = corral.SyncManager
    locals().update(with_corral(T.TestSyncManagerTypes, "wait_proc_exit", "run_worker"))

    test_pool = unittest.skip("Manager().Pool() is a corral.Pool of the calling process, "
                              "not a proxy another process can use")(lambda self: None)

    def test_lock(self, lname="Lock"):
        # A lock held by a process that ends is released (spec §5.30), so
        # the parent's release finds it free where multiprocessing's finds
        # it held by the dead child. As the original otherwise.
        o = getattr(self.manager, lname)()
        self.run_worker(self._test_lock, o)
        self.assertFalse(o.locked())
        self.assertTrue(o.acquire(False))
        o.release()
        self.assertRaises(RuntimeError, o.release)  # already released

    def test_semaphore(self, sname="Semaphore"):
        # The permit a process took and did not give back returns when it
        # ends (spec §5.30), so value 1 is back to 1, and the parent's
        # release of a BoundedSemaphore would exceed it.
        o = getattr(self.manager, sname)()
        self.run_worker(self._test_semaphore, o)
        self.assertEqual(o.get_value(), 1)
        if sname == "BoundedSemaphore":
            self.assertRaises(ValueError, o.release)
        else:
            o.release()
            self.assertEqual(o.get_value(), 2)


class WithCorralManagerTestQueue(T._TestQueue, CorralManagerMixin, unittest.TestCase):
    test_timeout = WithCorralTestQueue.test_timeout
    test_closed_queue_put_get_exceptions = unittest.skip(
        "a manager queue is queue.Queue, which has no close()")(lambda self: None)
    test_no_import_lock_contention = WithCorralTestQueue.test_no_import_lock_contention


class WithCorralManagerTestLock(T._TestLock, CorralManagerMixin, unittest.TestCase):
    pass


class WithCorralManagerTestSemaphore(T._TestSemaphore, CorralManagerMixin, unittest.TestCase):
    pass


class WithCorralManagerTestCondition(T._TestCondition, CorralManagerMixin, unittest.TestCase):
    check_invariant = condition_invariant


class WithCorralManagerTestEvent(T._TestEvent, CorralManagerMixin, unittest.TestCase):
    pass


class WithCorralManagerTestBarrier(T._TestBarrier, CorralManagerMixin, unittest.TestCase):
    pass


class WithCorralManagerTestContainers(T._TestContainers, CorralManagerMixin, unittest.TestCase):
    pass


if __name__ == "__main__":
    unittest.main()

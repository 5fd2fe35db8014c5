"""Manager() proxies against a real supervisor and real child processes."""

import pickle
import queue
import threading
import unittest

from corral._manager import DictProxy, ListProxy, Manager, NamespaceProxy, SyncManager
from corral._objects import Queue, from_handle

from test_objects_support import run, spawn


def child_fill(d, l, ns):
    d[1] = "int"
    d["1"] = "str"
    d[0.25] = "float"
    d[(1, 2)] = "tuple"
    l.append(("Jeff", 8))
    ns.epoch = 3


def child_insert_record(record, records):
    records.append(record)


def child_lock_list(ls, lock, n):
    for i in range(n):
        with lock:
            ls.append(i)


def task_write(d, l, q, i):
    d[i] = i * i
    l.append(i)
    q.put(i)
    return i


def child_queue_user(q):
    q.put(q.get(timeout=30) * 2)


class DictTest(unittest.TestCase):

    def setUp(self):
        self.m = Manager()
        self.addCleanup(self.m.shutdown)

    def test_key_types_and_order(self):
        d = self.m.dict()
        d[1] = "a"
        d["1"] = "b"
        d[0.25] = "c"
        d[(1, "x")] = "d"
        d[None] = "e"
        d[b"k"] = "f"
        d[frozenset([1])] = "g"
        self.assertEqual(len(d), 7)
        self.assertEqual(d.keys(), [1, "1", 0.25, (1, "x"), None, b"k", frozenset([1])])
        self.assertEqual([type(k) for k in d.keys()], [int, str, float, tuple, type(None), bytes, frozenset])
        self.assertEqual(d[1], "a")
        self.assertEqual(d[1.0], "a")  # equal keys are one key, as in Python
        self.assertEqual(d["1"], "b")
        self.assertEqual(d[(1, "x")], "d")
        self.assertEqual(d[b"k"], "f")
        self.assertIn(0.25, d)
        self.assertNotIn(2, d)
        self.assertRaises(KeyError, d.__getitem__, 2)
        self.assertRaises(TypeError, d.__setitem__, [1], 2)
        self.assertEqual(d.copy(), {1: "a", "1": "b", 0.25: "c", (1, "x"): "d", None: "e",
                                    b"k": "f", frozenset([1]): "g"})

    def test_methods(self):
        d = self.m.dict({"a": 1}, b=2)
        self.assertEqual(d.get("a"), 1)
        self.assertIsNone(d.get("z"))
        self.assertEqual(d.get("z", 0), 0)
        d["n"] = None
        self.assertIsNone(d["n"])
        self.assertIsNone(d.get("n", 5))
        self.assertEqual(d.setdefault("c", [3]), [3])
        self.assertEqual(d.setdefault("c", [4]), [3])
        self.assertEqual(d.pop("a"), 1)
        self.assertEqual(d.pop("a", "gone"), "gone")
        self.assertIsNone(d.pop("a", None))
        self.assertRaises(KeyError, d.pop, "a")
        d.update([("x", 1)], y=(2, 3))
        d.update({5: "five"})
        self.assertEqual(d.items()[-1], (5, "five"))
        self.assertEqual(d.popitem(), (5, "five"))
        self.assertEqual(d["y"], (2, 3))
        del d["y"]
        self.assertRaises(KeyError, d.__delitem__, "y")
        self.assertEqual(sorted(d.values(), key=repr), sorted([2, None, [3], 1], key=repr))
        self.assertEqual(str(d), str(d.copy()))
        self.assertRegex(repr(d), r"<DictProxy object, typeid 'dict' at .*>")
        d.clear()
        self.assertEqual(len(d), 0)
        self.assertRaises(KeyError, d.popitem)

    def test_iter(self):
        d = self.m.dict()
        for i in range(65, 70):
            d[i] = chr(i)
        it = iter(d)
        self.assertEqual(list(it), list(range(65, 70)))
        self.assertEqual(list(it), [])
        it = iter(d)
        next(it)
        d.clear()
        self.assertRaises(RuntimeError, next, it)

    def test_shared_with_a_process(self):
        d = self.m.dict()
        l = self.m.list([("Sam", 10)])
        ns = self.m.Namespace()
        self.assertEqual(run(child_fill, d, l, ns), 0)
        self.assertEqual(d.copy(), {1: "int", "1": "str", 0.25: "float", (1, 2): "tuple"})
        self.assertEqual(l[:], [("Sam", 10), ("Jeff", 8)])
        self.assertEqual(ns.epoch, 3)

    def test_nested(self):
        pets = self.m.dict(ferrets=2, hamsters=4)
        supplies = self.m.dict(water=10, feed=3)
        d = self.m.dict(pets=pets, supplies=supplies)
        d["supplies"]["blankets"] = 5
        self.assertEqual(supplies["blankets"], 5)
        self.assertIsInstance(d["pets"], DictProxy)
        outer = self.m.list([[88, 99], d])
        self.assertIsInstance(outer[0], list)
        self.assertEqual(outer[-1]["supplies"]["feed"], 3)

    def test_plain_json_for_other_languages(self):
        # What a Go or shell peer reads: plain JSON for plain values,
        # handles for proxies.
        from corral._objects import _call
        d = self.m.dict()
        inner = self.m.list()
        d["cfg"] = {"lr": 0.5, "layers": [1, 2]}
        d["l"] = inner
        r = _call("dict.get", {"name": d.name, "key": "cfg"})["value"]
        self.assertEqual(r, {"lr": 0.5, "layers": [1, 2]})
        r = _call("dict.get", {"name": d.name, "key": "l"})["value"]
        self.assertEqual(r, {"$corral": "list", "name": inner.name})


class ListTest(unittest.TestCase):

    def setUp(self):
        self.m = Manager()
        self.addCleanup(self.m.shutdown)

    def test_list(self):
        a = self.m.list(range(10))
        self.assertEqual(a[:], list(range(10)))
        b = self.m.list()
        self.assertEqual(b[:], [])
        b.extend(range(5))
        self.assertEqual(b[2], 2)
        self.assertEqual(b[-1], 4)
        self.assertEqual(b[2:10], [2, 3, 4])
        self.assertEqual(b[::-2], [4, 2, 0])
        b *= 2
        self.assertEqual(b[:], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
        self.assertEqual(b + [5, 6], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6])
        self.assertEqual([9] + b[:2], [9, 0, 1])
        self.assertEqual(a * 1, list(range(10)))
        b += [7]
        self.assertIsInstance(b, ListProxy)
        self.assertEqual(len(b), 11)
        self.assertEqual(b.count(0), 2)
        self.assertEqual(b.index(3), 3)
        self.assertEqual(b.index(3, 4), 8)
        self.assertRaises(ValueError, b.index, 99)
        self.assertIn(7, b)
        self.assertNotIn(99, b)
        b.remove(7)
        self.assertRaises(ValueError, b.remove, 7)
        self.assertEqual(b.pop(), 4)
        self.assertEqual(b.pop(0), 0)
        b.insert(0, "first")
        self.assertEqual(b[0], "first")
        del b[0]
        del b[0:2]
        self.assertEqual(b[:], [3, 4, 0, 1, 2, 3])
        b[0] = 30
        b[1:3] = ["x"]
        self.assertEqual(b[:], [30, "x", 1, 2, 3])
        self.assertRaises(IndexError, b.__getitem__, 50)
        self.assertRaises(IndexError, b.__setitem__, 50, 1)
        b.reverse()
        self.assertEqual(b[:], [3, 2, 1, "x", 30])
        self.assertEqual(list(reversed(b)), [30, "x", 1, 2, 3])
        del b[3]
        b.sort()
        self.assertEqual(b[:], [1, 2, 3, 30])
        b.sort(reverse=True)
        self.assertEqual(b[:], [30, 3, 2, 1])
        b.sort(key=lambda x: -x)
        self.assertEqual(b[:], [30, 3, 2, 1])
        t = self.m.list([(2, "b"), (1, "a")])
        t.sort()
        self.assertEqual(t[:], [(1, "a"), (2, "b")])
        self.assertIn((1, "a"), t)
        self.assertEqual(t.index((2, "b")), 1)
        self.assertEqual(str(t), "[(1, 'a'), (2, 'b')]")
        self.assertRaises(IndexError, self.m.list().pop)

    def test_iter_is_live(self):
        a = self.m.list(range(10))
        it = iter(a)
        self.assertEqual(list(it), list(range(10)))
        self.assertEqual(list(it), [])
        it = iter(a)
        a[0] = 100
        self.assertEqual(next(it), 100)

    def test_proxies_in_list(self):
        a = self.m.list([self.m.list(range(3)) for _ in range(3)])
        self.assertEqual([inner[:] for inner in a], [[0, 1, 2]] * 3)
        a[0][-1] = 55
        self.assertEqual(a[0][:], [0, 1, 55])
        self.assertEqual(a[1].pop(), 2)
        self.assertEqual(len(a[1]), 2)
        b = self.m.list()
        b.append(b)
        self.assertIsInstance(b[0], ListProxy)

    def test_tutorial_records(self):
        records = self.m.list([("Sam", 10), ("Adam", 9), ("Kevin", 9)])
        self.assertEqual(run(child_insert_record, ("Jeff", 8), records), 0)
        self.assertEqual([r for r in records], [("Sam", 10), ("Adam", 9), ("Kevin", 9), ("Jeff", 8)])

    def test_list_and_lock_across_processes(self):
        ls = self.m.list()
        lock = self.m.Lock()
        procs = [spawn(child_lock_list, ls, lock, 20) for _ in range(2)]
        for p in procs:
            self.assertEqual(p.wait(60), 0)
        self.assertEqual(sorted(ls[:]), sorted(list(range(20)) * 2))


class OtherProxiesTest(unittest.TestCase):

    def setUp(self):
        self.m = Manager()
        self.addCleanup(self.m.shutdown)

    def test_namespace(self):
        n = self.m.Namespace()
        n.name = "Bob"
        n.job = "Builder"
        n._hidden = "hidden"
        self.assertEqual((n.name, n.job), ("Bob", "Builder"))
        del n.job
        self.assertEqual(str(n), "Namespace(name='Bob')")
        self.assertTrue(hasattr(n, "name"))
        self.assertFalse(hasattr(n, "job"))
        n2 = pickle.loads(pickle.dumps(n))
        self.assertIsInstance(n2, NamespaceProxy)
        self.assertEqual(n2.name, "Bob")
        self.assertFalse(hasattr(n2, "_hidden"))
        self.assertEqual(str(self.m.Namespace(a=1, b=(2,))), "Namespace(a=1, b=(2,))")

    def test_value_and_array(self):
        v = self.m.Value("i", 3)
        self.assertEqual(v.value, 3)
        v.value = "any object"
        self.assertEqual(v.get(), "any object")
        v.set((1, 2))
        self.assertEqual(v.value, (1, 2))
        a = self.m.Array("i", [1, 2, 3])
        self.assertEqual(len(a), 3)
        self.assertEqual(a[:], [1, 2, 3])
        a[0] = 9
        self.assertEqual(list(a), [9, 2, 3])
        self.assertEqual(str(a), "array('i', [9, 2, 3])")

    def test_queue_is_queue_queue(self):
        q = self.m.Queue()
        q.put(1)
        self.assertEqual(q.get(), 1)
        q.task_done()
        q.join()
        self.assertRaises(queue.Empty, q.get_nowait)
        self.assertRaises(ValueError, q.get, True, -1)
        jq = self.m.JoinableQueue(2)
        jq.put(1)
        jq.put(2)
        self.assertRaises(queue.Full, jq.put, 3, False)
        self.assertEqual(run(child_queue_user, jq), 0)
        # The child took 1 and put 1 * 2 behind the 2.
        self.assertEqual([jq.get(), jq.get()], [2, 2])

    def test_sync_types(self):
        lock = self.m.Lock()
        self.assertTrue(lock.acquire())
        lock.release()
        self.assertRaises(RuntimeError, lock.release)
        rl = self.m.RLock()
        rl.acquire()
        rl.acquire()
        rl.release()
        rl.release()
        self.assertRaises(RuntimeError, rl.release)
        s = self.m.BoundedSemaphore(2)
        s.acquire()
        s.release()
        self.assertRaises(ValueError, s.release)
        c = self.m.Condition()
        with c:
            self.assertFalse(c.wait(0.01))
        e = self.m.Event()
        e.set()
        self.assertTrue(e.wait(0))
        self.assertRegex(repr(e), r"<EventProxy object, typeid 'Event' at .*")
        b = self.m.Barrier(1)
        self.assertEqual(b.wait(), 0)
        self.assertEqual(self.m.Semaphore(3).get_value(), 3)

    def test_shutdown_deletes_objects(self):
        m = Manager()
        d = m.dict(a=1)
        q = m.Queue()
        m.shutdown()
        self.assertRaises(RuntimeError, m.dict)
        # The names are gone: a new object of the base kind answers now.
        self.assertEqual(len(d), 0)
        del q

    def test_context_manager(self):
        with SyncManager() as m:
            d = m.dict()
            d["k"] = "v"
            self.assertEqual(d["k"], "v")
            self.assertTrue(m.address)
        with Manager() as m2:
            self.assertEqual(m2.list([1])[:], [1])

    def test_thread_safety_of_one_connection(self):
        d = self.m.dict()
        errors = []

        def work(k):
            try:
                for i in range(100):
                    d[(k, i)] = i
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(d), 400)

    def test_writes_are_seen_in_order_across_threads(self):
        # Sets, appends and puts do not wait for their reply; what one
        # thread wrote before signalling another is there for the other.
        d = self.m.dict()
        l = self.m.list()
        q = self.m.Queue()
        ns = self.m.Namespace()
        for round_ in range(50):
            ready = threading.Event()
            seen = []

            def writer():
                d["k"] = round_
                l.append(round_)
                ns.x = round_
                q.put(round_)
                ready.set()

            def reader():
                ready.wait(10)
                seen.append((d["k"], l[-1], ns.x, q.get_nowait()))
            ts = [threading.Thread(target=writer), threading.Thread(target=reader)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(10)
            self.assertEqual(seen, [(round_,) * 4])
        # A later write from another thread lands after the earlier one.
        d["k"] = "first"
        t = threading.Thread(target=d.__setitem__, args=("k", "second"))
        t.start()
        t.join(10)
        self.assertEqual(d["k"], "second")

    def test_pool_tasks_writes_are_there_when_results_are(self):
        import corral
        d = self.m.dict()
        l = self.m.list()
        q = corral.Queue()
        with corral.Pool(2) as pool:
            for n in range(3):
                r = pool.starmap(task_write, [(d, l, q, i) for i in range(n * 20, n * 20 + 20)])
                self.assertEqual(r, list(range(n * 20, n * 20 + 20)))
                self.assertEqual(len(d), n * 20 + 20)
                self.assertEqual(len(l), n * 20 + 20)
                self.assertEqual(q.qsize(), n * 20 + 20)
        self.assertEqual(d.copy(), {i: i * i for i in range(60)})
        self.assertEqual(sorted(l[:]), list(range(60)))

    def test_refused_write_is_reported(self):
        # A write sent without waiting that the supervisor refuses is
        # reported on stderr, as multiprocessing's feeder thread does.
        import io
        import contextlib
        from corral import _objects
        ns = self.m.Namespace()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            setattr(ns, "", 1)  # a namespace attribute needs a name
            _objects.flush()
        self.assertIn("namespace.set", err.getvalue())
        ns.ok = 1
        self.assertEqual(ns.ok, 1)

    def test_from_handle(self):
        d = self.m.dict(a=1)
        self.assertIsInstance(from_handle(d.to_json()), DictProxy)
        self.assertIsInstance(from_handle({"$corral": "queue", "name": "q"}), Queue)
        self.assertIsNone(from_handle({"$corral": "nosuchkind", "name": "x"}))


if __name__ == "__main__":
    unittest.main()

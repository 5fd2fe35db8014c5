"""Value, RawValue, Array and RawArray against a real supervisor and real
child processes."""

import array
import ctypes
import pickle
import unittest

from corral._ctypes import Array, RawArray, RawValue, Value
from corral._objects import Lock, RLock, from_handle

from test_objects_support import run


def child_set_values(values, news):
    for v, n in zip(values, news):
        v.value = n


def child_prefix_sum(seq):
    for i in range(1, len(seq)):
        seq[i] += seq[i - 1]


def child_add_locked(v, n):
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def child_squares(mylist, result, square_sum):
    for idx, num in enumerate(mylist):
        result[idx] = num * num
    square_sum.value = sum(result)


CODES = [
    ("i", 4343, 24234),
    ("d", 3.625, -4.25),
    ("h", -232, 234),
    ("q", 2 ** 33, 2 ** 34),
    ("c", b"x", b"y"),
    ("u", "\u00e9", "z"),
    (ctypes.c_double, 1.5, 2.5),
    (ctypes.c_bool, True, False),
]


class ValueTest(unittest.TestCase):

    def check(self, make):
        values = [make(code, v) for code, v, _ in CODES]
        for sv, (_, v, _) in zip(values, CODES):
            self.assertEqual(sv.value, v)
            self.assertEqual(type(sv.value), type(v))
        self.assertEqual(run(child_set_values, values, [n for _, _, n in CODES]), 0)
        for sv, (_, _, n) in zip(values, CODES):
            self.assertEqual(sv.value, n)

    def test_value(self):
        self.check(Value)

    def test_rawvalue(self):
        self.check(RawValue)

    def test_defaults_and_wraparound(self):
        self.assertEqual(Value("i").value, 0)
        self.assertEqual(Value("d").value, 0.0)
        self.assertEqual(Value("c").value, b"\x00")
        v = Value(ctypes.c_int, 2 ** 31)
        self.assertEqual(v.value, -2 ** 31)  # as ctypes.c_int(2**31).value
        v.value = 2 ** 32 + 5
        self.assertEqual(v.value, 5)
        b = Value("B", -1)
        self.assertEqual(b.value, 255)
        self.assertRaises(TypeError, Value, "i", 1.5)
        self.assertRaises(TypeError, Value, "z")
        self.assertRaises(TypeError, Value, ctypes.c_char_p)
        f = Value("f", 0.1)
        self.assertAlmostEqual(f.value, 0.1, places=6)
        self.assertEqual(Value("i", True).value, 1)

    def test_getobj_getlock(self):
        v1 = Value("i", 5)
        self.assertIsInstance(v1.get_lock(), RLock)
        self.assertEqual(v1.get_obj().value, 5)
        v2 = Value("i", 5, lock=None)
        self.assertIsNotNone(v2.get_lock())
        lock = Lock()
        v3 = Value("i", 5, lock=lock)
        self.assertIs(v3.get_lock(), lock)
        v4 = Value("i", 5, lock=False)
        self.assertFalse(hasattr(v4, "get_lock"))
        self.assertFalse(hasattr(v4, "get_obj"))
        self.assertRaises(AttributeError, Value, "i", 5, lock="navalue")
        v5 = RawValue("i", 5)
        self.assertFalse(hasattr(v5, "get_lock"))
        with v1:
            v1.value += 1
        self.assertEqual(v1.value, 6)
        self.assertRegex(repr(v1), r"Synchronized wrapper for c_int\(6\)")

    def test_locked_increments_across_processes(self):
        v = Value("i", 0)
        from test_objects_support import spawn
        procs = [spawn(child_add_locked, v, 40) for _ in range(2)]
        child_add_locked(v, 40)
        for p in procs:
            self.assertEqual(p.wait(60), 0)
        self.assertEqual(v.value, 120)

    def test_atomic_add(self):
        v = Value("q", 10)
        self.assertEqual(v.add(5), 15)
        self.assertTrue(v.compare_and_swap(15, 1))
        self.assertFalse(v.compare_and_swap(15, 2))
        self.assertEqual(v.value, 1)

    def test_handle(self):
        v = Value("d", 2.0)
        h = v.to_json()
        self.assertEqual(h["$corral"], "value")
        v2 = from_handle(h)
        self.assertEqual(v2.value, 2.0)
        v3 = pickle.loads(pickle.dumps(v))
        v3.value = 3.0
        self.assertEqual(v.value, 3.0)


class ArrayTest(unittest.TestCase):

    def check(self, make):
        seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831]
        arr = make("i", seq)
        self.assertEqual(len(arr), len(seq))
        self.assertEqual(arr[3], seq[3])
        self.assertEqual(arr[-1], seq[-1])
        self.assertEqual(list(arr[2:7]), seq[2:7])
        self.assertEqual(arr[::3], seq[::3])
        arr[4:8] = seq[4:8] = array.array("i", [1, 2, 3, 4])
        self.assertEqual(list(arr[:]), seq)
        child_prefix_sum(seq)
        self.assertEqual(run(child_prefix_sum, arr), 0)
        self.assertEqual(list(arr[:]), seq)
        self.assertEqual(list(arr), seq)
        self.assertRaises(IndexError, arr.__getitem__, 10)
        self.assertRaises(IndexError, arr.__setitem__, -11, 1)
        self.assertRaises(ValueError, arr.__setitem__, slice(0, 2), [1])
        arr[::2] = [0] * 5
        self.assertEqual(arr[0:4], [0, seq[1], 0, seq[3]])

    def test_array(self):
        self.check(Array)

    def test_rawarray(self):
        self.check(RawArray)

    def test_from_size(self):
        for code in ("i", "d", ctypes.c_long):
            arr = Array(code, 10)
            self.assertEqual(len(arr), 10)
            self.assertEqual(list(arr), [0] * 10)
            arr[:] = range(10)
            self.assertEqual(list(arr), list(range(10)))

    def test_char_array(self):
        a = Array("c", b"hello")
        self.assertEqual(a.value, b"hello")
        self.assertEqual(a.raw, b"hello")
        self.assertEqual(a[1], b"e")
        self.assertEqual(a[1:3], b"el")
        a.value = b"hi"
        self.assertEqual(a.value, b"hi")
        self.assertEqual(a.raw, b"hi\x00lo")
        self.assertRaises(ValueError, setattr, a, "value", b"toolong")
        b = Array(ctypes.c_char, 4)
        self.assertEqual(b.raw, b"\x00" * 4)
        b.raw = b"abcd"
        self.assertEqual(b.value, b"abcd")

    def test_getobj_getlock(self):
        a1 = Array("i", list(range(10)))
        self.assertIsNotNone(a1.get_lock())
        self.assertEqual(list(a1.get_obj()), list(range(10)))
        lock = Lock()
        a3 = Array("i", list(range(10)), lock=lock)
        self.assertIs(a3.get_lock(), lock)
        a4 = Array("i", range(10), lock=False)
        self.assertFalse(hasattr(a4, "get_lock"))
        self.assertRaises(AttributeError, Array, "i", range(10), lock="notalock")

    def test_tutorial_squares(self):
        result = Array("i", 4)
        square_sum = Value("i")
        self.assertEqual(run(child_squares, [1, 2, 3, 4], result, square_sum), 0)
        self.assertEqual(result[:], [1, 4, 9, 16])
        self.assertEqual(square_sum.value, 30)


class PackageNamesTest(unittest.TestCase):
    def test_package_exports_multiprocessing_names(self):
        # import corral as multiprocessing: the names programs use are there,
        # RawValue, RawArray and SyncManager among them, and are the shim's.
        import multiprocessing
        import corral
        missing = [n for n in multiprocessing.__all__ if n != "reducer" and not hasattr(corral, n)]
        self.assertEqual(missing, [])
        self.assertIs(corral.RawValue, RawValue)
        self.assertIs(corral.RawArray, RawArray)
        from corral._manager import SyncManager
        self.assertIs(corral.SyncManager, SyncManager)
        self.assertIn("RawArray", dir(corral))
        v = corral.RawValue("i", 3)
        a = corral.RawArray("d", [1.5, 2.5])
        self.assertEqual((v.value, a[:]), (3, [1.5, 2.5]))


if __name__ == "__main__":
    unittest.main()

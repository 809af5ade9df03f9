"""Results: numpy arrays when numpy is there, FloatArray otherwise."""
import array
import os
import sys
import unittest

from support import UNCASED, TestCase, ce


class TestFloatArray(TestCase):
    def setUp(self):
        self.a = ce.FloatArray(array.array("f", range(24)), (2, 3, 4))

    def test_shape_and_list(self):
        self.assertEqual(self.a.shape, (2, 3, 4))
        self.assertEqual(self.a.ndim, 3)
        self.assertEqual(self.a.size, 24)
        self.assertEqual(len(self.a), 2)
        self.assertEqual(self.a.tolist()[1][2], [20.0, 21.0, 22.0, 23.0])

    def test_indexing(self):
        self.assertEqual(self.a[1].shape, (3, 4))
        self.assertEqual(self.a[-1][0].tolist(), [12.0, 13.0, 14.0, 15.0])
        self.assertEqual(self.a[0][1][2], 6.0)
        self.assertEqual([row.shape for row in self.a], [(3, 4), (3, 4)])
        self.assertEqual(len(self.a[0:2]), 2)
        with self.assertRaises(IndexError):
            self.a[2]
        with self.assertRaises(IndexError):
            self.a[-3]

    def test_bad_shape(self):
        with self.assertRaises(ValueError):
            ce.FloatArray(array.array("f", [1.0, 2.0]), (3,))


class TestResultType(TestCase):
    def test_mode(self):
        forced_off = os.environ.get("CONTEXTEMBED_NO_NUMPY", "") not in ("", "0")
        if forced_off:
            self.assertFalse(ce.HAVE_NUMPY)
            self.assertNotIn("numpy", sys.modules)
        if os.environ.get("CE_TEST_EXPECT_NUMPY") == "1":
            self.assertTrue(ce.HAVE_NUMPY, "this run is meant to exercise numpy")
        with ce.Model(UNCASED, threads=1) as m:
            v = m.embed("hello world")
            if ce.HAVE_NUMPY:
                import numpy
                self.assertIsInstance(v, numpy.ndarray)
                self.assertEqual(v.dtype, numpy.float32)
            else:
                self.assertIsInstance(v, ce.FloatArray)
                self.assertEqual(v.data.typecode, "f")
            self.assertEqual(v.shape, (4, 64))
            self.assertEqual(len(v[0]), 64)
            self.assertEqual(len(v.tolist()), 4)


if __name__ == "__main__":
    unittest.main()

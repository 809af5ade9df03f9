"""Loading the library: search order, ABI check, declared signatures, numpy
kept optional, log forwarding."""
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import FIXTURES, HERE, ROOT, UNCASED, TestCase, ce

PACKAGE_PARENT = os.path.normpath(os.path.join(HERE, ".."))


def run_python(code, **env_changes):
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


class TestLoading(TestCase):
    def test_version_and_abi(self):
        self.assertRegex(ce.library_version, r"^\d+\.\d+\.\d+$")
        self.assertGreaterEqual(ce._lib.lib.abi_version, ce.ABI_VERSION)
        self.assertTrue(os.path.exists(ce.library_path) or "/" not in ce.library_path)
        self.assertIn("ref", ce.backends())

    def test_check_abi(self):
        check = ce._lib.check_abi
        check(1, "0.1.0")
        check(2, "0.2.0")  # newer minor releases only append functions
        with self.assertRaisesRegex(ce.LibraryNotFoundError, "ABI version 0"):
            check(0, "0.1.0")
        with self.assertRaisesRegex(ce.LibraryNotFoundError, "version 1.0.0"):
            check(1, "1.0.0")
        with self.assertRaises(ImportError):  # a LibraryNotFoundError is an ImportError
            check(0, "garbage")

    def test_every_exported_function_is_declared(self):
        mapfile = os.path.join(ROOT, "lib", "contextembed.map")
        if not os.path.exists(mapfile):
            self.skipTest("no lib/contextembed.map")
        with open(mapfile) as f:
            exported = set(re.findall(r"\b(ce_[a-z0-9_]+);", f.read()))
        exported.discard("ce_backend_register")  # takes the backend vtable struct: not bound
        self.assertEqual(exported - set(ce._lib.SIGNATURES), set())
        lib = ce._lib.lib
        for name, (restype, argtypes) in ce._lib.SIGNATURES.items():
            fn = getattr(lib, name)
            if name in lib.missing:
                with self.assertRaisesRegex(ce.UnsupportedError, name):
                    fn()
                continue
            self.assertEqual(fn.argtypes, argtypes, name)
            self.assertIs(fn.restype, restype, name)

    def test_bad_library_path(self):
        p = run_python("import contextembed", CONTEXTEMBED_LIBRARY="/nonexistent/libce.so")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("LibraryNotFoundError", p.stderr)
        self.assertIn("/nonexistent/libce.so", p.stderr)

    def test_not_the_library(self):
        libc = ce._lib.ctypes.util.find_library("c")
        if not libc:
            self.skipTest("no libc to load")
        p = run_python("import contextembed", CONTEXTEMBED_LIBRARY=libc)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("is not libcontextembed", p.stderr)

    def test_search_order_without_environment(self):
        """Without CONTEXTEMBED_LIBRARY: next to the package first, then the
        build*/ directories of the checkout the package sits in."""
        tmp = tempfile.mkdtemp(prefix="ce-py-search-")
        try:
            package = os.path.join(tmp, "bindings", "python")
            shutil.copytree(os.path.join(PACKAGE_PARENT, "contextembed"),
                            os.path.join(package, "contextembed"),
                            ignore=shutil.ignore_patterns("__pycache__", "*.so*"))
            os.mkdir(os.path.join(tmp, "build-x"))
            built = os.path.join(tmp, "build-x", "libcontextembed.so")
            os.symlink(os.path.realpath(ce.library_path), built)
            code = "import contextembed as ce; print(ce.library_path)"
            env = dict(CONTEXTEMBED_LIBRARY=None, PYTHONPATH=package)
            p = run_python(code, **env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.strip(), built)
            beside = os.path.join(package, "contextembed", "libcontextembed.so")
            os.symlink(os.path.realpath(ce.library_path), beside)
            p = run_python(code, **env)
            self.assertEqual(p.stdout.strip(), beside, p.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_system_library_on_request(self):
        """CONTEXTEMBED_LIBRARY=system passes over the library next to the
        package (what pip installs) for the one on the system's library path."""
        tmp = tempfile.mkdtemp(prefix="ce-py-system-")
        try:
            package = os.path.join(tmp, "site")
            shutil.copytree(os.path.join(PACKAGE_PARENT, "contextembed"),
                            os.path.join(package, "contextembed"),
                            ignore=shutil.ignore_patterns("__pycache__", "*.so*"))
            # copies, not links: /proc/self/maps then tells which one was loaded
            beside = os.path.join(package, "contextembed", "libcontextembed.so.0.1.0")
            shutil.copy(os.path.realpath(ce.library_path), beside)
            system = os.path.join(tmp, "system")
            os.mkdir(system)
            shutil.copy(os.path.realpath(ce.library_path),
                        os.path.join(system, "libcontextembed.so.0"))
            code = ("import contextembed as ce\n"
                    "maps = open('/proc/self/maps').read()\n"
                    "print(ce.library_path)\n"
                    "print(%r in maps, %r in maps)\n" % (beside, system))
            env = dict(PYTHONPATH=package, CONTEXTEMBED_LIBRARY=None, LD_LIBRARY_PATH=None)
            p = run_python(code, **env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.split("\n")[0], beside)
            if os.path.exists("/proc/self/maps"):
                self.assertEqual(p.stdout.split("\n")[1], "True False")
            p = run_python(code, **dict(env, CONTEXTEMBED_LIBRARY="system",
                                        LD_LIBRARY_PATH=system))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotEqual(p.stdout.split("\n")[0], beside)
            if os.path.exists("/proc/self/maps"):
                self.assertEqual(p.stdout.split("\n")[1], "False True")
            if not ce._lib.ctypes.util.find_library("contextembed"):
                p = run_python(code, **dict(env, CONTEXTEMBED_LIBRARY="system"))
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("CONTEXTEMBED_LIBRARY=system", p.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_numpy_is_optional(self):
        code = ("import sys, contextembed as ce\n"
                "m = ce.Model(%r)\n"
                "v = m.embed('hello world', pool='mean')\n"
                "assert isinstance(v, ce.FloatArray), type(v)\n"
                "assert 'numpy' not in sys.modules\n"
                "print(v.shape)\n" % UNCASED)
        p = run_python(code, CONTEXTEMBED_NO_NUMPY="1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "(64,)")

    def test_log_forwarding(self):
        tmp = tempfile.mkdtemp(prefix="ce-py-log-")
        try:
            for name in ("config.json", "model.safetensors"):
                shutil.copy(os.path.join(UNCASED, name), tmp)
            with self.assertLogs("contextembed", logging.WARNING) as logs:
                ce.enable_logging(logging.WARNING)
                try:
                    with ce.Model(tmp, threads=1) as m:
                        self.assertIsNone(m.tokenizer)
                        with self.assertRaisesRegex(ce.UnsupportedError, "no tokenizer"):
                            m.embed("text")
                        self.assertEqual(m.embed_ids([1, 2, 3]).shape, (3, 64))
                finally:
                    ce.enable_logging(None)
            self.assertTrue(any("tokenizer" in line for line in logs.output), logs.output)
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    unittest.main()


class TestExitWithOpenHandles(TestCase):
    """A script that never closes its model and sessions exits cleanly: at
    interpreter exit the garbage collector finalises them in any order."""

    def test_open_sessions_at_exit(self):
        code = ("import contextembed as ce\n"
                "def helper():\n"  # the module's globals in a cycle: collected as garbage
                "    return m\n"
                "m = ce.Model(%r)\n"
                "s = m.session()\n"
                "t = m.session(threads=1)\n"
                "s.append([2, 5, 7])\n"
                "s.append(3)\n"
                "print('ok')\n" % os.path.join(FIXTURES, "gpt2-tiny"))
        for _ in range(3):  # freed memory scribbled over, so a use after free shows
            run = run_python(code, MALLOC_PERTURB_="165")
            self.assertEqual(run.returncode, 0, run.stderr[-2000:])
            self.assertEqual(run.stdout.strip(), "ok")

    def test_session_closed_after_model(self):
        m = ce.Model(UNCASED)
        s = m.session()
        m.close()  # frees the session too
        s.close()  # and this one does nothing
        with self.assertRaises(ce.StateError):
            s.run([[2, 5]])

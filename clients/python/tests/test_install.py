"""pip install ./clients/python works with no network, and the installed
package runs a pool."""

import os
import subprocess
import sys
import tempfile
import unittest

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class InstallTest(unittest.TestCase):
    def test_pip_install_offline(self):
        target = tempfile.mkdtemp(prefix="corral-pip-")
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env["PIP_NO_INDEX"] = "1"
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--target", target, PKG],
                           env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(os.path.join(target, "corral", "_pool.py")))
        env["PYTHONPATH"] = target
        prog = ("import corral, operator\n"
                "assert corral.__file__.startswith(%r), corral.__file__\n"
                "if __name__ == '__main__':\n"
                "    with corral.Pool(2) as p:\n"
                "        print(p.map(abs, [-1, -2, 3]))\n" % target)
        r = subprocess.run([sys.executable, "-c", prog], env=env, capture_output=True, text=True,
                           timeout=60, cwd=target)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "[1, 2, 3]\n")


if __name__ == "__main__":
    unittest.main()

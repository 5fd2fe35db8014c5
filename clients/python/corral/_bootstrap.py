"""The first code a Python child of corral runs (see _spawn.BOOT)."""

import os


def main():
    role = os.environ.get("CORRAL_PY_ROLE")
    if role == "process":
        from . import _process
        _process.process_main()
    elif role == "zygote":
        from . import _zygote
        _zygote.serve()
    else:
        from . import _worker
        _worker.pool_worker_main()

"""Logging as multiprocessing.util does it: get_logger(), log_to_stderr(),
lines such as ``[INFO/Process-1] child process calling self.run()``."""

import logging
import os
import sys
import threading

NOTSET = 0
SUBDEBUG = 5
DEBUG = 10
INFO = 20
SUBWARNING = 25

LOGGER_NAME = "corral"
DEFAULT_LOGGING_FORMAT = "[%(levelname)s/%(processName)s] %(message)s"

ENV_LOG = "CORRAL_PY_LOG"

_logger = None
_log_to_stderr = False
_lock = threading.Lock()


def sub_debug(msg, *args):
    if _logger:
        _logger.log(SUBDEBUG, msg, *args)


def debug(msg, *args):
    if _logger:
        _logger.log(DEBUG, msg, *args)


def info(msg, *args):
    if _logger:
        _logger.log(INFO, msg, *args)


def sub_warning(msg, *args):
    if _logger:
        _logger.log(SUBWARNING, msg, *args)


class _ProcessName(logging.Filter):
    """Names records after corral's current process (logging's own
    processName looks at the stdlib multiprocessing, which is not ours)."""

    def filter(self, record):
        from ._process import current_process
        try:
            record.processName = current_process().name
        except Exception:
            pass
        return True


def get_logger():
    """The shim's logger (created on first use; propagation off, as in
    multiprocessing)."""
    global _logger
    with _lock:
        if not _logger:
            _logger = logging.getLogger(LOGGER_NAME)
            _logger.propagate = 0
            logging.addLevelName(SUBDEBUG, "SUBDEBUG")
            logging.addLevelName(SUBWARNING, "SUBWARNING")
            _logger.addFilter(_ProcessName())
    return _logger


def log_to_stderr(level=None):
    """Send the logger's records to stderr in multiprocessing's format."""
    global _log_to_stderr
    logger = get_logger()
    formatter = logging.Formatter(DEFAULT_LOGGING_FORMAT)
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_ProcessName())
    logger.addHandler(handler)
    if level:
        logger.setLevel(level)
    _log_to_stderr = True
    return _logger


def child_log_env():
    """What a child needs to log as its parent does: {} or {ENV_LOG: …}."""
    if _logger is None:
        return {}
    return {ENV_LOG: "%d,%d" % (1 if _log_to_stderr else 0, _logger.getEffectiveLevel() if _logger.level else 0)}


def setup_child_logging():
    raw = os.environ.get(ENV_LOG)
    if not raw:
        return
    to_stderr, _, level = raw.partition(",")
    if to_stderr == "1":
        log_to_stderr()
    if level and level != "0":
        get_logger().setLevel(int(level))


def flush_std():
    for f in (sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except Exception:
            pass

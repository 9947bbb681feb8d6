# The zygote of Python's launched runs (etc/languages.conf `zygote`;
# lib/sandbox/zygote.h): sandbox-exec starts it once as `python3 -I -B
# zygote.py LIB LAUNCHER`, with its steps' environment, fd 3 its request
# socket. It imports what most runs import, says "z" on fd 1, then forks
# for each request (codex-zygote.so, LIB, does the work); in the fork,
# placed in the step's box, it runs LAUNCHER's code as `python3 -I -B
# /sandbox/launch.py PROGRAM ARGS...` would, one frame deeper, and ends as
# that interpreter would (docs/sandbox.md, "Zygotes").
import ctypes
import os
import sys
import json, time  # the function harness's imports, not paid by each run

_zy = ctypes.PyDLL(sys.argv[1], use_errno=True)
_zy.zy_arg.restype = ctypes.c_char_p
with open(sys.argv[2], "rb") as _f:
    _launch = compile(_f.read(), "/sandbox/launch.py", "exec", dont_inherit=True)
del _f
_api = ctypes.pythonapi
if _zy.zy_init() != 0:
    sys.exit("zygote: cannot serve: %s" % os.strerror(ctypes.get_errno()))
# Its objects out of the collector's sight: a run's collections then never
# write to (and so copy) the zygote's pages.
import gc
gc.freeze()
os.write(1, b"z")
while True:
    _n = _zy.zy_next(3)
    if _n == 0:
        sys.exit(0)
    if _n < 0:
        sys.exit(1)
    if _n != 1:
        continue
    _api.PyOS_BeforeFork()
    _pid = _zy.zy_fork()
    if _pid == 0:
        _api.PyOS_AfterFork_Child()
        break
    _api.PyOS_AfterFork_Parent()
sys.argv = [os.fsdecode(_zy.zy_arg(_i)) for _i in range(_zy.zy_argc())]
del _zy, _api, _n, _pid
sys.setrecursionlimit(sys.getrecursionlimit() + 1)
_run = {"__name__": "__main__", "__builtins__": __builtins__}
try:
    exec(_launch, _run)
    _status = 0
except SystemExit as _e:
    _status = _e.code if _e.code is None or type(_e.code) is int else _e
    del _e
if not isinstance(_status, BaseException):
    # The interpreter's exit, but for tearing down what the zygote
    # imported (every object of it written, so copied: some 4 ms of a
    # trivial run): the threads joined, the exit handlers run, the
    # program's own objects released (its files closed, its finalizers
    # run), stdout and stderr flushed. Anything amiss, and the
    # interpreter's own exit does it all, and says what failed.
    try:
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
        import atexit
        atexit._run_exitfuncs()
        sys.modules["__main__"].__dict__.clear()
        _run.clear()
        gc.collect()
        for _f in (sys.stdout, sys.stderr):
            if _f is not None:
                _f.flush()
    except BaseException:
        sys.exit(_status)
    os._exit(_status or 0)
raise _status

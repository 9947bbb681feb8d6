# The launcher of a Python run (etc/languages.conf `launch`; spawn.h,
# "launched"): run as `python3 -I -B /sandbox/launch.py PROGRAM
# ARGS...`, started with its box before the step, it says so with a byte
# on fd 5 and waits for its go on fd 4; then it runs PROGRAM as `python3
# -I -B PROGRAM ARGS...` would: __main__ a module of its own, __file__
# absolute, sys.argv and sys.orig_argv as given, the same depth of
# recursion, and an uncaught exception printed without the launcher's
# frame.
import os, sys
os.write(5, b"r")
os.close(5)
if os.read(4, 1) != b"g":
    os._exit(0)				# the step will not run
os.close(4)
_path = sys.argv[1]
_file = _path if _path.startswith("/") else os.path.join(os.getcwd(), _path)
sys.argv = sys.argv[1:]
sys.orig_argv = [sys.executable, "-I", "-B"] + sys.argv
_main = type(sys)("__main__")
_main.__dict__.update(__file__=_file, __cached__=None, __builtins__=__builtins__, __annotations__={},
                      __loader__=sys.modules["_frozen_importlib_external"].SourceFileLoader(
                          "__main__", _file))
sys.modules["__main__"] = _main
sys.setrecursionlimit(sys.getrecursionlimit() + 2)
try:
    with open(_file, "rb") as _f:
        _code = compile(_f.read(), _file, "exec", dont_inherit=True)
    del _f
    exec(_code, _main.__dict__)
except SystemExit:
    raise
except BaseException as _e:
    _e.__traceback__ = _e.__traceback__.tb_next
    sys.excepthook(type(_e), _e, _e.__traceback__)
    sys.exit(1)

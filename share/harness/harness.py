"""Function-call harness for Python "function" jobs: /sandbox/code/main.py,
run as `python3 -I -B main.py <entry>`. Loads $HARNESS_ROOT/code/solution.py
(a top-level function <entry>, or class Solution with a method <entry>), calls
the entry once per JSON text of $HARNESS_ROOT/code/inputs.json (an array is
spread as the arguments) and appends one line per testcase to
$HARNESS_ROOT/results/output.json:
  {"index":i,"actual":<json>|"error":"<Type>: <message>","executionTimeMs":t}
HARNESS_ROOT defaults to /sandbox. Loading failures: stderr and exit 1.
"""
import _frozen_importlib
import _frozen_importlib_external
import json
import os
import sys
import time

# importlib.util and traceback are not imported: with their own imports they
# cost a run more CPU than all the rest of it. The loader is importlib's
# own (importlib.util's functions are these); traceback only on an error.

ROOT = os.environ.get("HARNESS_ROOT", "/sandbox")
CODE_DIR = os.path.join(ROOT, "code")
RESULTS = os.path.join(ROOT, "results", "output.json")
MAX_ERROR = 2000

# Keep our own references: user code may close or replace sys.stderr, json.dumps, ...
_stderr = os.fdopen(os.dup(2), "w", buffering=1, errors="backslashreplace")
_dumps = json.dumps
_loads = json.loads
_clock = time.perf_counter_ns


def fail(msg):
    _stderr.write("harness: %s\n" % msg)
    _stderr.flush()
    os._exit(1)


def encode(value):
    """JSON text of a result: tuples become lists, sets sorted lists."""
    def default(o):
        if isinstance(o, (set, frozenset)):
            return sorted(o)
        raise TypeError("%s is not JSON serializable" % type(o).__name__)
    return _dumps(value, default=default, allow_nan=False,
                  ensure_ascii=False, separators=(",", ":"))


def describe(exc):
    try:
        msg = "%s: %s" % (type(exc).__name__, exc)
    except Exception:  # a user exception whose __str__ fails
        msg = type(exc).__name__
    return msg if len(msg) <= MAX_ERROR else msg[:MAX_ERROR] + "..."


def format_exc():
    import traceback
    return traceback.format_exc()


def load(entry):
    if not entry.isidentifier():
        fail("invalid entry name %r" % entry)
    path = os.path.join(CODE_DIR, "solution.py")
    spec = _frozen_importlib_external.spec_from_file_location("solution", path)
    module = _frozen_importlib.module_from_spec(spec)
    sys.modules["solution"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:  # SyntaxError, errors at import time, sys.exit()
        _stderr.write(format_exc())
        fail("could not load solution.py")
    fn = getattr(module, entry, None)
    if callable(fn) and not isinstance(fn, type):
        return fn
    cls = getattr(module, "Solution", None)
    if isinstance(cls, type) and callable(getattr(cls, entry, None)):
        return lambda *args: getattr(cls(), entry)(*args)  # fresh instance per call
    fail("entry %r not found: define a function %s or a class Solution "
         "with a method %s" % (entry, entry, entry))


def main():
    if len(sys.argv) != 2:
        fail("usage: main.py <entry>")
    try:
        with open(os.path.join(CODE_DIR, "inputs.json"), encoding="utf-8") as f:
            inputs = _loads(f.read())
        if not isinstance(inputs, list) or not all(isinstance(s, str) for s in inputs):
            raise ValueError("inputs.json must be a JSON array of strings")
        fd = os.open(RESULTS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        out = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace")
    except (OSError, ValueError) as e:
        fail(describe(e))
    call = load(sys.argv[1])
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))

    for i, text in enumerate(inputs):
        try:
            value = _loads(text)
        except ValueError as e:
            field = '"error":' + _dumps("InputError: " + describe(e))
            out.write('{"index":%d,%s,"executionTimeMs":0}\n' % (i, field))
            out.flush()
            continue
        start = _clock()
        try:
            result = call(*(value if isinstance(value, list) else [value]))
            elapsed = _clock() - start
            try:
                field = '"actual":' + encode(result)
            except Exception as e:
                field = '"error":' + _dumps("unserializable result: " + describe(e))
        except BaseException as e:  # includes SystemExit raised by user code
            elapsed = _clock() - start
            field = '"error":' + _dumps(describe(e))
            _stderr.write("testcase %d: %s" % (i, format_exc()))
        out.write('{"index":%d,%s,"executionTimeMs":%.3f}\n' % (i, field, elapsed / 1e6))
        out.flush()

    out.close()
    for stream in (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__, _stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)  # do not wait for threads the user left running


if __name__ == "__main__":
    main()

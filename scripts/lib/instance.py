"""A sandbox-exec instance of a benchmark's own, beside any service on the
host: its language table's state directory, its name and pool, and slot
uids away from the default ones."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def private_instance(tmp, k=0):
    """The environment of instance k of the benchmark's own, its table in
    tmp, so that it shares nothing with a service on the host (nor with
    the benchmark's other instances: their slots are their own)."""
    table = os.path.join(tmp, "languages-%d.conf" % k)
    with open(os.path.join(ROOT, "etc/languages.conf")) as f:
        text = re.sub(r"(?m)^state_dir = .*$", "state_dir = " + os.path.join(tmp, "state-%d" % k),
                      f.read())
    with open(table, "w") as f:
        f.write(text)
    return {**os.environ, "CODEX_LANGUAGES": table, "CODEX_SHARE": os.path.join(ROOT, "share/harness"),
            "CODEX_INSTANCE": "bench-%d-%d" % (os.getpid(), k),
            # A block of 120000 uids each: the slots from uid_base, the
            # docker pool's from uid_base + 100000, 1024 per language.
            "CODEX_UID_BASE": str(200000 + (os.getpid() % 1000 * 4 + k) * 120000)}

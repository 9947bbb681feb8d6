"""The command line of the project's Python scripts: --help prints the
script's usage (its docstring) and exits 0; anything it cannot take prints
the usage and what was wrong on stderr and exits 100, as the programs do."""
import sys


def help_or_usage_error(doc, argv, ok):
    """Exits for -h/--help (0) or when ok(argv) is false (100)."""
    if any(a in ("-h", "--help") for a in argv):
        sys.stdout.write(doc.lstrip("\n"))
        sys.exit(0)
    if not ok(argv):
        sys.stderr.write(doc.lstrip("\n"))
        sys.stderr.write("\nbad arguments: %s\n" % " ".join(argv))
        sys.exit(100)


def whole_numbers(argv):
    return all(a.isdigit() and int(a) > 0 for a in argv)

"""PNG plots of the benchmark scripts, drawn by gnuplot (Debian's
gnuplot-nox, installed when missing). Each plot's data goes to gnuplot in
the script itself: nothing is left behind but the PNG."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "bench")


def gnuplot():
    """gnuplot's path, installed from Debian's packages when missing; None
    (with a line on stderr) when it cannot be."""
    path = shutil.which("gnuplot")
    if path:
        return path
    sys.stderr.write("plots: installing gnuplot-nox\n")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "gnuplot-nox"]):
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            sys.stderr.write("plots: could not install gnuplot-nox; no plots\n")
            return None
    return shutil.which("gnuplot")


def quoted(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def draw(name, title, xlabel, ylabel, series, extra=""):
    """Draws series, [(label, [(x, y), ...]), ...], as lines with points
    into OUT/name. Returns the PNG's path, or None without gnuplot."""
    exe = gnuplot()
    if exe is None:
        return None
    os.makedirs(OUT, exist_ok=True)
    png = os.path.join(OUT, name)
    script = ["set terminal pngcairo size 900,540 font 'sans,11'",
              "set output " + quoted(png), "set title " + quoted(title),
              "set xlabel " + quoted(xlabel), "set ylabel " + quoted(ylabel),
              "set grid", "set key outside right top", extra,
              "plot " + ", ".join("'-' using 1:2 with linespoints title " + quoted(label)
                                  for label, _ in series)]
    for _, points in series:
        script += ["%r %r" % (float(x), float(y)) for x, y in points] + ["e"]
    subprocess.run([exe], input="\n".join(script) + "\n", text=True, check=True)
    return png


def cdf(values):
    """The points of the empirical distribution of values: (value, % <=)."""
    xs = sorted(values)
    return [(x, 100.0 * (i + 1) / len(xs)) for i, x in enumerate(xs)]

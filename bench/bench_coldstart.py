"""Benchmark: cold-start import time of the Lambda app, side by side with a minimal Chalice app.

Each sample is a fresh interpreter (``python -I``: no user site, no PYTHON*
variables) timing ``import app`` with ``time.perf_counter`` around it; the
minimal app (``Chalice(app_name="x")`` with one route) is timed the same way,
interleaved, so both see the same machine. The median of ``--repeat`` samples
is reported; the ratio is the headline, the absolute ms are context.

It also times the import from the deployment package as Lambda runs it (built
into a temporary folder with ``infra.build_package`` unless ``--package`` names a
``deployment.zip`` or its unzipped folder; ``--no-package`` skips it): read-only
code with the bytecode the zip ships, the same copy with ``-B`` and every
``__pycache__`` removed (every module compiled on every cold start), and the
ratio to the minimal Chalice app timed in the same run (the package carries its
own dependencies; the minimal app imports chalice from the venv, with bytecode).

    python bench/bench_coldstart.py [--repeat 15] [--package build/dev/deployment.zip | --no-package] [--strict]

Prints NOT MET when the working-tree ratio exceeds ``--max-ratio`` (4) or the package
import with its bytecode exceeds ``--max-package-ms`` (150); exits 1 for that only with
``--strict`` (so ``make bench`` runs every benchmark).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = 'from chalice import Chalice\napp = Chalice(app_name="minimal")\n\n\n@app.route("/")\ndef index():\n' \
          '    return {"hello": "world"}\n'
PROBE = ("import sys, time; sys.path[:0] = [{path!r}, *{extra!r}]; t = time.perf_counter(); import app; "
         "print(time.perf_counter() - t)")


def site_packages() -> list[str]:
    """The venv's site-packages (the minimal app and the working tree import chalice from there)."""
    return [p for p in sys.path if p.endswith("site-packages")]


def time_import(path: Path, extra: list[str], *, no_bytecode: bool = False) -> float:
    """Seconds ``import app`` takes in a fresh isolated interpreter with ``path`` first on sys.path."""
    cmd = [sys.executable, "-I", *(["-B"] if no_bytecode else []), "-c", PROBE.format(path=str(path), extra=extra)]
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "ap-northeast-1", "LANG": "C.UTF-8"}
    out = subprocess.run(cmd, cwd=path, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def compile_tree(path: Path) -> None:
    """Warm the bytecode caches once (a developer's tree has them after the first run)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(path)], check=True, capture_output=True)


def unpack(package: Path, dest: Path) -> Path:
    """An unzipped copy of the deployment package (a zip is extracted; a folder is copied)."""
    if package.is_file():
        with zipfile.ZipFile(package) as zf:
            zf.extractall(dest)
    else:
        shutil.copytree(package, dest, dirs_exist_ok=True)
    return dest


def read_only(path: Path) -> None:
    """Make a tree read-only like Lambda's /var/task (no new __pycache__ can be written)."""
    for p in sorted(path.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    path.chmod(0o555)


def writable(path: Path) -> None:
    path.chmod(0o755)
    for p in path.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--package", type=Path, help="deployment.zip or its unzipped folder")
    parser.add_argument("--max-ratio", type=float, default=4.0)
    parser.add_argument("--max-package-ms", type=float, default=150.0)
    parser.add_argument("--no-package", action="store_true", help="only the working tree")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a limit is not met")
    args = parser.parse_args(argv)
    extra = site_packages()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp, "minimal")
        minimal.mkdir()
        (minimal / "app.py").write_text(MINIMAL)
        compile_tree(minimal)
        compile_tree(ROOT / "chalicelib")
        compile_tree(ROOT / "plugins")
        ours, base = [], []
        time_import(ROOT, extra), time_import(minimal, extra)  # warm the OS file cache
        for _ in range(args.repeat):
            base.append(time_import(minimal, extra))
            ours.append(time_import(ROOT, extra))
        ratio = statistics.median(ours) / statistics.median(base)
        load = os.getloadavg()
        print(f"machine load average {load[0]:.2f} / {load[1]:.2f} (1 / 5 min) on {os.cpu_count()} CPUs: the times are "
              "medians of fresh interpreters, so a busy machine inflates them")
        print(f"import app, fresh interpreter, median of {args.repeat} (bytecode cached):")
        print(f"  minimal Chalice app   {median_ms(base):8.1f} ms")
        print(f"  helpdesk app          {median_ms(ours):8.1f} ms")
        print(f"ratio cold-start import helpdesk / minimal Chalice app: {ratio:.2f}x (limit {args.max_ratio:g}x)"
              f" {'OK' if ratio <= args.max_ratio else 'TOO SLOW'}")
        if ratio > args.max_ratio:
            failures.append(f"import ratio {ratio:.2f}x > {args.max_ratio:g}x")
        package = args.package
        if package is None and not args.no_package:
            out = Path(tmp, "build")
            subprocess.run([sys.executable, "-m", "infra.build_package", "--out", str(out)], cwd=ROOT, check=True,
                           capture_output=True, text=True)
            package = out / "deployment.zip"
        if package is not None:
            pkg = unpack(package, Path(tmp, "package"))
            bare = unpack(package, Path(tmp, "bare"))
            for cache in bare.rglob("__pycache__"):
                shutil.rmtree(cache)
            pycs = sum(1 for _ in pkg.rglob("*.pyc"))
            read_only(pkg)
            read_only(bare)
            try:
                time_import(pkg, []), time_import(bare, [], no_bytecode=True)
                shipped, compiled = [], []
                for _ in range(args.repeat):
                    shipped.append(time_import(pkg, []))
                    compiled.append(time_import(bare, [], no_bytecode=True))
            finally:
                writable(pkg)
                writable(bare)
            print(f"import app from the unzipped package (read-only, like /var/task), {pycs} .pyc shipped:")
            fastest = min(shipped) * 1000
            print(f"  with the shipped bytecode     {median_ms(shipped):8.1f} ms (fastest {fastest:.1f} ms)")
            print(f"  compiling every module (-B)   {median_ms(compiled):8.1f} ms")
            print(f"  minimal Chalice app (same run, from the venv) {median_ms(base):8.1f} ms")
            print(f"ratio package import (shipped bytecode) / minimal Chalice app: "
                  f"{median_ms(shipped) / median_ms(base):.2f}x")
            print(f"ratio package import without / with bytecode: {median_ms(compiled) / median_ms(shipped):.2f}x; "
                  f"with bytecode {median_ms(shipped):.0f} ms (limit {args.max_package_ms:g} ms)"
                  f" {'OK' if median_ms(shipped) <= args.max_package_ms else 'TOO SLOW'}")
            if median_ms(shipped) > args.max_package_ms:
                failures.append(f"package import {median_ms(shipped):.0f} ms > {args.max_package_ms:g} ms")
    for f in failures:
        print(f"NOT MET: {f}")
    return 1 if failures and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

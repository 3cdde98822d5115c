"""Stage the source for packaging and install its locked dependencies (``infra/build_package.py``, step 1 and 3).

``build/src`` holds a copy of app.py, chalicelib/ (without bytecode) and the ``.chalice``
config, with a ``vendor/`` holding copies of ``rules/`` and ``plugins/`` and the dependencies
of ``requirements.lock`` installed for the chosen Lambda runtime (``infra/runtime.py``: uv,
manylinux wheels of that Python version, hashes required). Chalice ships only app.py,
chalicelib/ and the *contents* of vendor/ (at the zip root), so this is what puts ``rules/``
and ``plugins/`` next to app.py in the Lambda zip; packaging a copy means tests or servers
importing the working tree meanwhile cannot corrupt the zip. Builds in one working tree share
``build/src``, so they take turns (``build_lock``).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chalicelib.plugin_manager import ENTRY_POINT_GROUP, ENTRY_POINTS_FILE
from infra.runtime import DEFAULT_RUNTIME, install_dependencies
from infra.template_resources import BuildError

ROOT = Path(__file__).resolve().parents[1]
VENDOR_DIR = ROOT / "vendor"
VENDORED = ("rules", "plugins")
BUILD_DIR = ROOT / "build"
STAGE_DIR = BUILD_DIR / "src"
MERGE_TEMPLATE = BUILD_DIR / "merge-template.json"
BUILD_LOCK = BUILD_DIR / ".build.lock"


def tool(name: str) -> str:
    """Path of a console script installed next to this interpreter (the venv), else on PATH."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise BuildError(f"{name} not found next to {sys.executable} or on PATH (run `make install`)")
    return found


def _ignore_non_files(directory: str, names: list[str]) -> set[str]:
    """copytree filter: skip bytecode caches, hidden files and anything that is not a real file or folder."""
    skipped = set()
    for name in names:
        path = Path(directory, name)
        if (
            name == "__pycache__"
            or name.startswith(".")
            or name.endswith((".pyc", ".pyo"))
            or path.is_symlink()
            or not (path.is_file() or path.is_dir())
        ):
            skipped.add(name)
    return skipped


def vendor_folders(vendor_dir: Path = VENDOR_DIR) -> dict[str, int]:
    """Recreate ``vendor_dir`` holding copies of the top-level folders Chalice would not ship; file counts."""
    shutil.rmtree(vendor_dir, ignore_errors=True)
    vendor_dir.mkdir(parents=True)
    counts = {}
    for name in VENDORED:
        dest = vendor_dir / name
        shutil.copytree(ROOT / name, dest, ignore=_ignore_non_files)
        counts[name] = sum(1 for p in dest.rglob("*") if p.is_file())
    return counts


def stage_source(runtime: str = DEFAULT_RUNTIME) -> dict[str, int]:
    """Copy the project into ``build/src`` (no bytecode, no hidden files) and package from there.

    Chalice zips and hashes every file under ``chalicelib/``; packaging the
    working tree directly races with any process that imports the code at the
    same time (a ``.pyc`` written mid-zip corrupts the archive). The staged
    copy's ``.chalice/deployments`` keeps Chalice's dependency cache.
    """
    STAGE_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "app.py", STAGE_DIR / "app.py")
    # Chalice installs nothing: the dependencies are in vendor/ already, installed from the lock
    # (exact versions, every file's sha256) for the chosen runtime's Python version.
    (STAGE_DIR / "requirements.txt").write_text("# dependencies: vendor/ (infra/runtime.py)\n")
    shutil.rmtree(STAGE_DIR / "chalicelib", ignore_errors=True)
    shutil.copytree(ROOT / "chalicelib", STAGE_DIR / "chalicelib", ignore=_ignore_non_files)
    (STAGE_DIR / ".chalice").mkdir(exist_ok=True)
    for name in ("config.json", "policy.json"):
        shutil.copy2(ROOT / ".chalice" / name, STAGE_DIR / ".chalice" / name)
    counts = vendor_folders(STAGE_DIR / "vendor")
    counts["dependencies"] = install_dependencies(ROOT / "requirements.lock", STAGE_DIR / "vendor", runtime,
                                                  tool("uv"))
    counts["entry_points"] = write_entry_points(STAGE_DIR / "vendor")
    return counts


def write_entry_points(vendor: Path) -> int:
    """List the ``helpdesk`` entry points of the dependencies installed in ``vendor`` in its
    ``ENTRY_POINTS_FILE`` (at the zip root, next to app.py), so a cold start reads one small file
    instead of scanning every distribution; returns how many."""
    from importlib import metadata

    found = sorted({(ep.name, ep.value) for dist in metadata.distributions(path=[str(vendor)])
                    for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP})
    (vendor / ENTRY_POINTS_FILE).write_text(json.dumps([{"name": n, "value": v} for n, v in found], indent=1) + "\n")
    return len(found)


@contextmanager
def build_lock() -> Iterator[None]:
    """Hold ``build/.build.lock`` (exclusive; waits for another build in this working tree to finish).

    Builds in one working tree share ``build/src``: a second one waits for the first instead of
    reinstalling ``vendor/`` under the first one's zip (a clean-clone CI run lost files mid-zip).
    """
    BUILD_DIR.mkdir(exist_ok=True)
    with open(BUILD_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield

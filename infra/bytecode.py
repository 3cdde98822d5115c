"""Bytecode in the Lambda zip: ``chalice package`` ships only sources, and ``/var/task`` is read-only,
so without this every cold start compiles every module (measured 2.9x slower imports).

``add_bytecode(zip_path)`` compiles every ``.py`` of the zip (the app, plugins
and dependencies) with the build's interpreter into ``__pycache__/*.cpython-XY.pyc``
next to it and rewrites the zip. The ``.pyc`` are *unchecked-hash* (PEP 552):
Python loads them without comparing the source's mtime, which a zip stores only
to 2 seconds and Lambda's extraction need not keep. Unchecked means a changed
source would not be recompiled; nobody edits files in a deployed package, and
every build compiles afresh. The compiling Python must be the Lambda runtime's version
(``infra/runtime.py`` runs this file as a script with that interpreter when it is not the
build's own: ``python3.12 infra/bytecode.py build/prod/deployment.zip``; standard library only).
"""

from __future__ import annotations

import importlib.util
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path


def add_bytecode(zip_path: Path) -> int:
    """Add an unchecked-hash ``.pyc`` for every ``.py`` in ``zip_path`` (replacing any there); returns the count."""
    tag = sys.implementation.cache_tag
    tmp_zip = zip_path.with_suffix(".tmp.zip")
    count = 0
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(zip_path) as src, \
            zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if "__pycache__/" in info.filename or info.filename.endswith((".pyc", ".pyo")):
                continue  # stale caches of another interpreter: ours replace them
            data = src.read(info)
            dst.writestr(info, data)
            if not info.filename.endswith(".py"):
                continue
            source = Path(tmp, "src.py")
            source.write_bytes(data)
            parent, _, name = info.filename.rpartition("/")
            arcname = f"{parent + '/' if parent else ''}__pycache__/{name[:-3]}.{tag}.pyc"
            target = Path(tmp, "out.pyc")
            try:
                py_compile.compile(str(source), cfile=str(target), dfile=info.filename, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:
                continue  # e.g. a dependency's Python-2-only test file: Python would not import it either
            pyc = zipfile.ZipInfo(arcname, date_time=info.date_time)
            pyc.compress_type, pyc.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            dst.writestr(pyc, target.read_bytes())
            count += 1
    tmp_zip.replace(zip_path)
    return count


def is_unchecked_pyc(data: bytes) -> bool:
    """Whether ``data`` is a ``.pyc`` of this interpreter that Python loads without checking its source."""
    flags = int.from_bytes(data[4:8], "little")
    return data[:4] == importlib.util.MAGIC_NUMBER and flags & 0b01 == 1 and flags & 0b10 == 0


if __name__ == "__main__":
    print(add_bytecode(Path(sys.argv[1])), "files compiled for", sys.implementation.cache_tag)

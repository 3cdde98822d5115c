"""The Lambda Python runtime a package is built for: its dependencies, its bytecode, its parameter.

``make package RUNTIME=python3.12`` (``--runtime``) builds a zip for that runtime only:

- **Dependencies**: ``uv pip install --target`` of ``requirements.lock`` with
  ``--python-version 3.12 --python-platform x86_64-manylinux_2_34 --only-binary :all:``
  (``manylinux_2_17`` for python3.11 on Amazon Linux 2; hashes required, no dependency
  resolution: the lock is complete). Compiled extensions
  (rpds-py, MarkupSafe, jsonschema-rs) come as ``cp312`` or ``abi3`` wheels, never the build
  interpreter's ``cp311``: Lambda's Python would not import those. Downloads are cached by uv
  (``~/.cache/uv``), so a rebuild fetches nothing; a network failure is retried.
- **Bytecode**: a ``.pyc`` is only used by the Python version that wrote it (``cpython-312``
  tag, and the magic number). The build compiles with the runtime's interpreter: this one when
  the versions match, else ``pythonX.Y`` from ``PATH``. Without that interpreter the package ships
  no bytecode (said in the build's output): Lambda then compiles each module on import, which
  works but makes cold starts slower (``infra/bytecode.py``: 2.9x slower imports measured).
- **Template**: the ``PythonRuntime`` Parameter (python3.11/3.12/3.13), defaulting to the runtime
  built for, sets every function's ``Runtime``; the ``PackageRuntime`` Rule refuses a deploy with
  another value (the zip would not import), and ``make deploy`` passes ``RUNTIME`` as the value.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from infra.template_resources import BuildError

RUNTIMES = ("python3.11", "python3.12", "python3.13")
DEFAULT_RUNTIME = "python3.11"
# The glibc of each runtime's OS bounds the manylinux wheels it can load: python3.11 runs on Amazon
# Linux 2 (glibc 2.26: manylinux_2_17 is the newest uv offers below it), 3.12 and 3.13 on Amazon Linux
# 2023 (glibc 2.34).
PLATFORMS = {"python3.11": "x86_64-manylinux_2_17", "python3.12": "x86_64-manylinux_2_34",
             "python3.13": "x86_64-manylinux_2_34"}
ATTEMPTS = 3
NETWORK_ERRORS = ("Failed to fetch", "Failed to download", "error sending request", "operation timed out",
                  "Connection reset", "dns error", "failed to lookup address")
BYTECODE_SCRIPT = Path(__file__).with_name("bytecode.py")


def version_of(runtime: str) -> str:
    """``python3.12`` -> ``3.12`` (BuildError for a runtime this package does not support)."""
    if runtime not in RUNTIMES:
        raise BuildError(f"runtime {runtime!r} is not one of {', '.join(RUNTIMES)}")
    return runtime.removeprefix("python")


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def install_dependencies(lock: Path, target: Path, runtime: str, uv: str) -> int:
    """Install every locked package into ``target`` as manylinux wheels for ``runtime``; returns the count."""
    cmd = [uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(target),
           "--python-version", version_of(runtime), "--python-platform", PLATFORMS[runtime], "--only-binary", ":all:",
           "--require-hashes", "--no-deps", "--no-compile", "-r", str(lock)]
    for attempt in range(1, ATTEMPTS + 1):
        proc = _run(cmd)
        output = proc.stdout + proc.stderr
        if proc.returncode == 0:
            break
        if attempt == ATTEMPTS or not any(marker in output for marker in NETWORK_ERRORS):
            raise BuildError(f"installing the dependencies for {runtime} failed ({proc.returncode}):\n{output}")
        print(f"uv: downloading the dependencies failed (attempt {attempt}); retrying", file=sys.stderr)
        time.sleep(2 * attempt)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: nothing in Lambda runs them
    return sum(1 for _ in target.glob("*.dist-info"))


def interpreter_for(runtime: str) -> str | None:
    """A Python of the runtime's version to compile bytecode with: this one, else ``pythonX.Y`` on PATH."""
    version = version_of(runtime)
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        return None
    # A name on PATH is not yet that Python (e.g. a pyenv shim of a version not enabled): ask it.
    proc = _run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    return found if proc.returncode == 0 and proc.stdout.strip() == version else None


def compile_for_runtime(zip_path: Path, runtime: str) -> tuple[int, str]:
    """Add the runtime's bytecode to the zip when its interpreter is here; (count, what was done)."""
    python = interpreter_for(runtime)
    if python is None:
        return 0, (f"none: no python{version_of(runtime)} on this machine to compile for {runtime} (a .pyc of "
                   f"Python {sys.version_info.major}.{sys.version_info.minor} would be ignored there); Lambda "
                   "compiles on import, so cold starts are slower")
    if python == sys.executable:
        from infra.bytecode import add_bytecode

        count = add_bytecode(zip_path)
    else:
        proc = _run([python, str(BYTECODE_SCRIPT), str(zip_path)])
        if proc.returncode != 0:
            raise BuildError(f"compiling bytecode with {python} failed:\n{proc.stdout}{proc.stderr}")
        count = int(proc.stdout.split()[0])
    return count, f"{count} unchecked-hash .pyc for {runtime} added (imports never compile on a cold start)"


def runtime_parameter(runtime: str) -> dict[str, Any]:
    """The ``PythonRuntime`` Parameter, defaulting to the runtime the package was built for."""
    version_of(runtime)
    return {"PythonRuntime": {
        "Type": "String", "Default": runtime, "AllowedValues": list(RUNTIMES),
        "Description": f"Lambda runtime of every function. This package was built for {runtime} (make package "
                       "RUNTIME=...): its compiled dependencies import only there"}}


def runtime_rules(runtime: str) -> dict[str, Any]:
    """The Rule that keeps template and package in agreement."""
    return {"PackageRuntime": {"Assertions": [{
        "Assert": {"Fn::Equals": [{"Ref": "PythonRuntime"}, runtime]},
        "AssertDescription": f"this package was built for {runtime}; build another one with "
                             "make package RUNTIME=<the runtime you want>"}]}}

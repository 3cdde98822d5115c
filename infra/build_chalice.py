"""Run ``chalice package`` on the staged source and check what it wrote (``infra/build_package.py``, step 4).

``chalice package --merge-template`` into the output folder (fake credentials, never AWS),
once more without Chalice's cache when the cached zip it reused is not a valid zip; then the
checks: the merge hit real resources, every function is wired to the table/bucket environment
and runs on the ``PythonRuntime`` Parameter, the zip holds app.py, chalicelib/, plugins/ and
rules/ without bytecode caches, and ``cfn-lint`` finds no error in the SAM template.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from infra.build_stage import MERGE_TEMPLATE, ROOT, STAGE_DIR, tool
from infra.template_resources import BuildError

REGION = "ap-northeast-1"
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
PACKAGE_FILES = ("deployment.zip", "sam.json")
REUSED = "Reusing existing deployment package"  # what chalice package prints when it took its cached zip


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def check_out_dir(out: Path) -> None:
    """Refuse an output folder holding anything but a previous package (it is wiped before packaging)."""
    if out.exists():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in PACKAGE_FILES)
        if foreign:  # e.g. a mistyped --out .
            raise BuildError(f"{out} holds files this build did not write ({foreign[:3]}); choose an empty --out")


def chalice_package(stage: str, out: Path) -> str:
    """Run ``chalice package`` with the merge template; returns its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(FAKE_AWS_ENV, PYTHONDONTWRITEBYTECODE="1")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [tool("chalice"), "--project-dir", str(STAGE_DIR), "package", "--stage", stage,
           "--merge-template", str(MERGE_TEMPLATE), str(out)]
    proc = _run(cmd, env)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise BuildError(f"chalice package failed ({proc.returncode}):\n{output}")
    return output


def package_with_valid_zip(stage: str, out: Path) -> str:
    """``chalice package``, once more without the cache when the zip it wrote is not a valid zip; its output.

    Chalice reuses its cached zip without reading it; one cut short (a build killed mid-write,
    a full disk) would be shipped as is.
    """
    output = chalice_package(stage, out)
    if not zipfile.is_zipfile(out / "deployment.zip"):
        print("cached deployment package is not a valid zip: rebuilding it", file=sys.stderr)
        shutil.rmtree(STAGE_DIR / ".chalice" / "deployments", ignore_errors=True)
        output = chalice_package(stage, out)
    return output


def prune_dependency_cache(chalice_output: str) -> None:
    """Keep only the newest zip in ``.chalice/deployments`` (Chalice adds a ~27 MB one per code change)."""
    if REUSED in chalice_output:
        return
    cached = sorted((STAGE_DIR / ".chalice" / "deployments").glob("*.zip"), key=lambda p: p.stat().st_mtime)
    for old in cached[:-1]:
        old.unlink(missing_ok=True)


def check_package(out: Path, merged: dict[str, Any], functions: list[str]) -> None:
    """Sanity checks on the output: the merge hit real resources, every function is wired, the zip is complete."""
    template = json.loads((out / "sam.json").read_text())["Resources"]
    for rid, res in merged["Resources"].items():
        if "Type" not in res and "Type" not in template.get(rid, {}):
            raise BuildError(f"merge template patches {rid!r}, which chalice package did not generate")
    unwired = sorted(r for r, v in template.items() if v["Type"] == "AWS::Serverless::Function" and r not in functions)
    if unwired:
        raise BuildError(f"functions without the table/bucket environment: {unwired}")
    other_runtime = sorted(r for r, v in template.items() if v["Type"] == "AWS::Serverless::Function"
                           and v["Properties"].get("Runtime") != {"Ref": "PythonRuntime"})
    if other_runtime:
        raise BuildError(f"functions whose Runtime is not the PythonRuntime parameter: {other_runtime}")
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        names = zf.namelist()
    for required in ("app.py", "chalicelib/__init__.py", "plugins/__init__.py", "rules/"):
        if not any(n == required or n.startswith(required) for n in names):
            raise BuildError(f"deployment.zip lacks {required}")
    stray = [n for n in names if n.split("/")[0] in ("chalicelib", "plugins", "rules") and "__pycache__" in n]
    if stray:
        raise BuildError(f"deployment.zip ships bytecode caches: {stray[:3]}")


def cfn_lint(template_path: Path) -> str:
    """Validate the SAM template offline; errors fail the build, warnings are reported."""
    proc = _run([tool("cfn-lint"), "--regions", REGION, "--non-zero-exit-code", "error", "--", str(template_path)])
    if proc.returncode != 0:
        raise BuildError(f"cfn-lint reported errors for {template_path}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout.strip()

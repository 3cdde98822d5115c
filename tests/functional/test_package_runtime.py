"""The Lambda runtime is a build choice: ``make package RUNTIME=python3.12`` ships cp312/abi3 wheels only,
bytecode of that version or none, and a template whose ``PythonRuntime`` agrees with the zip.

The build machine has only Python 3.11 (as CI does), so this is the case that used to go wrong:
Chalice fetched wheels for the interpreter it runs under, and a ``cpython-311`` extension does not
import on Lambda's 3.12. ``test_package.py`` checks the default (3.11) build the same way.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

EXTENSION = re.compile(r"\.(cpython-(\d+)-x86_64-linux-gnu|abi3)\.so$")


def binary_tags(zip_path: Path) -> dict[str, Any]:
    """What the zip's compiled parts are built for: extension modules, wheel tags, bytecode tags."""
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        wheels = {n.split("/")[0]: zf.read(n).decode() for n in names if re.match(r"^[^/]+\.dist-info/WHEEL$", n)}
    extensions = sorted({(m.group(2) or "abi3") for n in names if (m := EXTENSION.search(n))})
    stray_so = [n for n in names if n.endswith(".so") and not EXTENSION.search(n)]
    compiled = {dist: sorted(set(re.findall(r"^Tag: (\S+)", text, re.M)))
                for dist, text in wheels.items() if "Root-Is-Purelib: false" in text}
    pyc = sorted({m.group(1) for n in names if (m := re.search(r"\.(cpython-\d+)\.pyc$", n))})
    return {"extensions": extensions, "stray_so": stray_so, "compiled_wheels": compiled, "pyc": pyc,
            "dists": len(wheels)}


def assert_built_for(zip_path: Path, template: dict[str, Any], runtime: str) -> dict[str, Any]:
    """The zip's binaries and the template's runtime both say ``runtime``."""
    cp = "cp" + runtime.removeprefix("python").replace(".", "")
    tags = binary_tags(zip_path)
    assert tags["extensions"] and set(tags["extensions"]) <= {cp[2:], "abi3"}, tags["extensions"]
    assert not tags["stray_so"], tags["stray_so"]
    assert len(tags["compiled_wheels"]) >= 3  # rpds-py, MarkupSafe, jsonschema-rs
    for dist, wheel_tags in tags["compiled_wheels"].items():
        assert all(t.startswith(f"{cp}-{cp}-") or "-abi3-" in t for t in wheel_tags), (dist, wheel_tags)
        assert all("manylinux" in t and "x86_64" in t for t in wheel_tags), (dist, wheel_tags)
    assert set(tags["pyc"]) <= {f"cpython-{cp[2:]}"}, tags["pyc"]  # bytecode of that version, or none
    param = template["Parameters"]["PythonRuntime"]
    assert param["Default"] == runtime and param["AllowedValues"] == ["python3.11", "python3.12", "python3.13"]
    assert template["Rules"]["PackageRuntime"]["Assertions"][0]["Assert"] == {
        "Fn::Equals": [{"Ref": "PythonRuntime"}, runtime]}
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) >= 6
    assert all(f["Properties"]["Runtime"] == {"Ref": "PythonRuntime"} for f in functions)
    return tags


@pytest.fixture(scope="module")
def package_312(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``python -m infra.build_package --runtime python3.12`` as ``make package RUNTIME=python3.12`` runs it."""
    out = tmp_path_factory.mktemp("package312")
    proc = subprocess.run([sys.executable, "-m", "infra.build_package", "--out", str(out), "--stage", "prod",
                           "--runtime", "python3.12"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stdout


def test_a_package_built_for_312_holds_cp312_or_abi3_binaries_and_the_template_agrees(package_312) -> None:
    out, output = package_312
    template = json.loads((out / "sam.json").read_text())
    tags = assert_built_for(out / "deployment.zip", template, "python3.12")
    assert "cfn-lint warnings" not in output
    assert "runtime python3.12" in output
    locked = re.findall(r"^([a-z0-9][a-z0-9._-]*)==", (ROOT / "requirements.lock").read_text(), re.M)
    assert tags["dists"] == len(locked)  # every locked package, nothing else
    if sys.version_info[:2] != (3, 12) and not tags["pyc"]:
        # No python3.12 here: no bytecode, and the build says why (a cpython-311 .pyc would be ignored).
        assert "bytecode  none: no python3.12 on this machine" in output, output


def test_the_312_package_imports_under_python_312_alone(package_312, tmp_path) -> None:
    """Where a Python 3.12 exists (pyenv here; not on CI), the unzipped 3.12 package imports every module of
    chalicelib and plugins under it with nothing else on the path (a cp311 extension would fail here)."""
    from tests.functional.test_package import PROBE

    if not PYENV_312.exists():
        pytest.skip("no Python 3.12 on this machine (CI has only 3.11)")
    with zipfile.ZipFile(package_312[0] / "deployment.zip") as zf:
        zf.extractall(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "ap-northeast-1"}
    proc = subprocess.run([str(PYENV_312), "-I", "-S", "-c", PROBE, str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts["foreign_modules"] == [] and facts["site_packages_on_path"] == []
    assert len(facts["routes"]) > 20 and facts["rule_files"]
    loaded = subprocess.run(
        [str(PYENV_312), "-I", "-S", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import rpds.rpds, "
         "markupsafe._speedups, jsonschema_rs; print(rpds.rpds.__file__, markupsafe._speedups.__file__)",
         str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.count("cpython-312-x86_64-linux-gnu.so") == 2, loaded.stdout


def test_make_package_and_deploy_pass_the_runtime() -> None:
    dry = subprocess.run(["make", "-n", "deploy", "STAGE=prod", "RUNTIME=python3.13", "ARTIFACT_BUCKET=b"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert "--runtime python3.13" in dry.stdout
    assert "PythonRuntime=python3.13" in dry.stdout
    bad = subprocess.run([sys.executable, "-m", "infra.build_package", "--runtime", "python3.10"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "python3.10" in bad.stderr  # refused before anything is built


PYENV_312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")


def test_bytecode_is_compiled_by_the_runtime_python_when_there_is_one(tmp_path, monkeypatch) -> None:
    """With a Python of the runtime's version at hand, the .pyc are that version's (magic number and tag);
    a name on PATH that is not that version (a pyenv shim) counts as none."""
    from infra import runtime

    fake = tmp_path / "bin" / "python3.12"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2; exit 127\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert runtime.interpreter_for("python3.12") is None
    assert runtime.interpreter_for("python3.11") == sys.executable
    if not PYENV_312.exists():
        pytest.skip("no Python 3.12 on this machine (CI has only 3.11)")
    monkeypatch.setenv("PATH", str(PYENV_312.parent))
    zip_path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("app.py", "x = 1\n")
        zf.writestr("pkg/__init__.py", "")
    count, note = runtime.compile_for_runtime(zip_path, "python3.12")
    assert count == 2 and "for python3.12" in note
    magic = subprocess.run([str(PYENV_312), "-c", "import importlib.util,sys; sys.stdout.write("
                            "importlib.util.MAGIC_NUMBER.hex())"], capture_output=True, text=True).stdout
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.read("__pycache__/app.cpython-312.pyc")[:4].hex() == magic
        assert "pkg/__pycache__/__init__.cpython-312.pyc" in zf.namelist()

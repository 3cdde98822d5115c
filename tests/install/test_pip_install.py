"""The package as a user installs it: ``pip install .`` into a fresh venv, then the ``helpdesk`` command.

Also a third-party plugin package, installed with an entry point in the ``helpdesk`` group (and a CLI
subcommand in ``helpdesk.cli``), is loaded by the installed service. Nothing imports the working tree:
the commands run from a temporary folder with the venv's own interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("install")]

PLUGIN_PYPROJECT = """
[build-system]
requires = ["hatchling==1.33.0"]
build-backend = "hatchling.build"

[project]
name = "acme-helpdesk-fax"
version = "1.0.0"
dependencies = ["helpdesk-rules"]

[project.entry-points.helpdesk]
fax = "acme_fax"

[project.entry-points."helpdesk.cli"]
fax = "acme_fax.cli"

[tool.hatch.build.targets.wheel]
packages = ["acme_fax"]
"""

PLUGIN_MODULE = '''
from chalicelib.hookspecs import hookimpl


@hookimpl
def helpdesk_channels():
    return ["fax"]
'''

PLUGIN_CLI = '''
def register(sub):
    cmd = sub.add_parser("fax-status", help="the fax plugin's own command")
    cmd.set_defaults(func=lambda args: print("fax plugin OK") or 0, needs_aws=False)
'''


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    print("$", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new venv with ``pip install .`` of this repository (the real pip, from the package index)."""
    home = tmp_path_factory.mktemp("fresh")
    venv = home / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    base = shutil.which("python3.11") or sys.executable
    assert _run([base, "-m", "venv", str(venv)], home, env).returncode == 0
    proc = _run([str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)], home, env)
    assert proc.returncode == 0, proc.stderr
    return venv, env


def test_pip_install_gives_the_helpdesk_command(fresh_venv, tmp_path):
    venv, env = fresh_venv
    helpdesk = str(venv / "bin" / "helpdesk")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")

    help_out = _run([helpdesk, "--help"], tmp_path, env)
    assert help_out.returncode == 0
    for command in ("check", "explain", "agent", "outbox", "plugins", "--local", "--stage"):
        assert command in help_out.stdout

    check = _run([helpdesk, "check", "rules"], tmp_path, env)
    assert check.returncode == 0 and "rules: OK" in check.stderr

    where = _run([str(venv / "bin" / "python"), "-c", "import chalicelib; print(chalicelib.__file__)"], tmp_path, env)
    assert str(venv) in where.stdout  # the installed copy, not the working tree


def test_a_third_party_plugin_package_is_loaded_by_entry_point(fresh_venv, tmp_path):
    venv, env = fresh_venv
    pkg = tmp_path / "acme-helpdesk-fax"
    (pkg / "acme_fax").mkdir(parents=True)
    (pkg / "pyproject.toml").write_text(textwrap.dedent(PLUGIN_PYPROJECT))
    (pkg / "acme_fax" / "__init__.py").write_text(PLUGIN_MODULE)
    (pkg / "acme_fax" / "cli.py").write_text(PLUGIN_CLI)
    assert _run([str(venv / "bin" / "pip"), "install", "--quiet", str(pkg)], tmp_path, env).returncode == 0

    listing = _run([str(venv / "bin" / "helpdesk"), "plugins"], tmp_path, env)
    assert listing.returncode == 0
    assert '"plugin": "fax"' in listing.stdout and "acme-helpdesk-fax 1.0.0" in listing.stdout
    assert '"fax"' in listing.stdout.splitlines()[-1]  # among the channels
    own = _run([str(venv / "bin" / "helpdesk"), "fax-status"], tmp_path, env)
    assert own.returncode == 0 and "fax plugin OK" in own.stdout

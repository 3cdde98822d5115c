"""The real deployable package: built by infra.build_package, unzipped, imported in an isolated interpreter.

``chalice.test.Client`` imports from the working tree, so only this test proves
that the Lambda zip itself holds everything (plugins/, rules/, dependencies).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.store import schema
from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

TABLE_ID = "HelpdeskTable"
ITEM_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Query",
}

# Runs under `python -I -S` with cwd = the unzipped package: no site-packages, no repo, no PYTHON* variables.
PROBE = r"""
import json, pkgutil, importlib, sys, sysconfig
root = sys.argv[1]
sys.path.insert(0, root)
import app as app_module
metadata_at_import = "importlib.metadata" in sys.modules
import chalicelib, plugins
from chalicelib.plugin_manager import channel_names, get_plugin_manager
from chalicelib.settings import get_settings
for pkg in (chalicelib, plugins):  # every module must import from the zip alone
    for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if not mod.name.endswith(".__main__"):  # a package's script runs its command line when imported
            importlib.import_module(mod.name)
stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
foreign = sorted(
    f"{name}: {mod.__file__}" for name, mod in list(sys.modules.items())
    if getattr(mod, "__file__", None) and not mod.__file__.startswith((root, *stdlib))
)
rules_dir = get_settings().rules_dir
print(json.dumps({
    "app_class": type(app_module.app).__module__ + "." + type(app_module.app).__name__,
    "app_name": app_module.app.app_name,
    "routes": sorted(app_module.app.routes),
    "app_file": app_module.__file__,
    "plugins_file": plugins.__file__,
    "channels": channel_names(get_plugin_manager()),
    "rules_dir": str(rules_dir),
    "rules_dir_exists": rules_dir.is_dir(),
    "rule_files": sorted(p.relative_to(rules_dir).as_posix() for p in rules_dir.rglob("*.json")),
    "foreign_modules": foreign,
    "site_packages_on_path": [p for p in sys.path if "site-packages" in p],
    "metadata_at_import": metadata_at_import,
}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m infra.build_package --out <tmp>`` exactly as ``make package`` runs it."""
    out = tmp_path_factory.mktemp("package")
    proc = subprocess.run(
        [sys.executable, "-m", "infra.build_package", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "deployment.zip").is_file() and (out / "sam.json").is_file()
    return out


@pytest.fixture(scope="module")
def template(package: Path) -> dict[str, Any]:
    """The generated SAM template."""
    return json.loads((package / "sam.json").read_text())


@pytest.fixture(scope="module")
def probe(package: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Facts reported by a fresh isolated interpreter that sees only the unzipped package."""
    unzipped = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(package / "deployment.zip") as zf:
        zf.extractall(unzipped)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
    }
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(unzipped)],
        cwd=unzipped, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    facts["root"] = str(unzipped)
    return facts


def test_app_loads_from_the_unzipped_package_alone(probe: dict[str, Any]) -> None:
    assert probe["app_class"] == "chalice.app.Chalice"
    assert probe["app_name"] == "helpdesk"
    assert "/webhooks/{channel}" in probe["routes"]
    assert probe["app_file"].startswith(probe["root"])
    assert probe["foreign_modules"] == []
    assert probe["site_packages_on_path"] == []


def test_builtin_plugins_load_from_the_package(probe: dict[str, Any]) -> None:
    assert probe["plugins_file"].startswith(probe["root"])
    assert "form" in probe["channels"]


def test_the_package_lists_its_entry_points_and_a_cold_start_scans_no_distribution(probe: dict[str, Any]) -> None:
    """The build lists the packaged dependencies' ``helpdesk`` entry points next to app.py, exactly what
    scanning the package's distributions finds; ``import app`` then never loads importlib.metadata
    (the scan was about a quarter of the package's import time)."""
    from importlib import metadata

    from chalicelib.plugin_manager import ENTRY_POINT_GROUP, ENTRY_POINTS_FILE

    root = Path(probe["root"])
    listed = json.loads((root / ENTRY_POINTS_FILE).read_text())
    scanned = sorted({(ep.name, ep.value) for dist in metadata.distributions(path=[str(root)])
                      for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP})
    assert [(e["name"], e["value"]) for e in listed] == scanned
    assert probe["metadata_at_import"] is False


def test_rules_are_shipped_next_to_the_app(probe: dict[str, Any]) -> None:
    rules_dir = Path(probe["rules_dir"])
    assert probe["rules_dir_exists"]
    assert rules_dir == Path(probe["root"]) / "rules"
    assert not rules_dir.is_relative_to(ROOT)
    repo_rules = sorted(p.relative_to(ROOT / "rules").as_posix() for p in (ROOT / "rules").rglob("*.json"))
    assert repo_rules, "the repo has rule files"
    assert len(probe["rule_files"]) == len(repo_rules)
    assert probe["rule_files"] == repo_rules


def test_template_passes_cfn_lint(package: Path) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    proc = subprocess.run(
        [str(cfn_lint), "--regions", "ap-northeast-1", "--", str(package / "sam.json")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_template_has_the_schema_table_with_indexes_stream_and_ttl(template: dict[str, Any]) -> None:
    table = template["Resources"][TABLE_ID]
    assert table["Type"] == "AWS::DynamoDB::Table"
    props = table["Properties"]
    named_indexes = {value for name, value in vars(schema).items() if name.endswith("_INDEX")}
    assert {schema.STATUS_INDEX, schema.ASSIGNEE_INDEX, schema.ALL_TICKETS_INDEX, schema.DUE_INDEX} <= named_indexes
    assert {g["IndexName"] for g in props["GlobalSecondaryIndexes"]} == named_indexes
    expected = schema.table_definition(props["TableName"])
    assert props["GlobalSecondaryIndexes"] == expected["GlobalSecondaryIndexes"]
    assert props["KeySchema"] == expected["KeySchema"]
    assert props["AttributeDefinitions"] == expected["AttributeDefinitions"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_raw_bucket_is_private_and_encrypted(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["HelpdeskRawBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "${AWS::AccountId}" in bucket["BucketName"]["Fn::Sub"]


def test_every_function_uses_the_template_table_and_bucket(template: dict[str, Any]) -> None:
    functions = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert "APIHandler" in functions
    for name, fn in functions.items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["HELPDESK_TABLE"] == {"Ref": TABLE_ID}, name
        assert env["HELPDESK_RAW_BUCKET"] == {"Ref": "HelpdeskRawBucket"}, name


def _grants(policy: dict[str, Any]) -> list[tuple[set[str], str]]:
    out = []
    for st in policy["Statement"]:
        if st["Effect"] != "Allow":
            continue
        actions = {st["Action"]} if isinstance(st["Action"], str) else set(st["Action"])
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        out.extend((actions, json.dumps(r, sort_keys=True)) for r in resources)
    return out


def test_iam_policy_grants_the_dynamodb_actions_used(template: dict[str, Any]) -> None:
    table_arn = json.dumps({"Fn::GetAtt": [TABLE_ID, "Arn"]}, sort_keys=True)
    index_arn = json.dumps({"Fn::Sub": f"${{{TABLE_ID}.Arn}}/index/*"}, sort_keys=True)
    roles = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    assert roles
    for name, role in roles.items():
        grants = [g for p in role["Properties"]["Policies"] for g in _grants(p["PolicyDocument"])]
        on_table = set().union(*(a for a, r in grants if r == table_arn))
        assert ITEM_ACTIONS <= on_table, name
        assert "dynamodb:Query" in set().union(*(a for a, r in grants if r == index_arn)), name
        everything = set().union(*(a for a, _ in grants))
        assert {"s3:PutObject", "s3:GetObject", "ssm:GetParameter", "logs:PutLogEvents"} <= everything, name
        assert not any(a.endswith("*") for a in everything), f"{name}: wildcard action"
    static = set().union(*(a for a, _ in _grants(json.loads((ROOT / ".chalice" / "policy.json").read_text()))))
    assert ITEM_ACTIONS <= static


def test_a_failed_dependency_download_is_retried_and_other_failures_are_not(monkeypatch, tmp_path):
    """The dependencies come from the package index (uv, ``infra/runtime.py``); a network hiccup then must
    not fail the build, while a real error (here: no wheel for the runtime) fails it at once with its output."""
    import subprocess as sp

    from infra import runtime

    hiccup = "error: Failed to fetch: `https://pypi.org/simple/boto3/`\n  Caused by: operation timed out\n"
    results = [sp.CompletedProcess([], 2, "", hiccup), sp.CompletedProcess([], 0, "", "")]
    calls: list[list[str]] = []
    monkeypatch.setattr(runtime, "_run", lambda cmd: calls.append(cmd) or results.pop(0))
    monkeypatch.setattr(runtime.time, "sleep", lambda s: None)
    (tmp_path / "boto3-1.44.5.dist-info").mkdir()
    assert runtime.install_dependencies(ROOT / "requirements.lock", tmp_path, "python3.12", "uv") == 1
    assert len(calls) == 2
    assert calls[0][calls[0].index("--python-version") + 1] == "3.12"
    assert calls[0][calls[0].index("--python-platform") + 1] == "x86_64-manylinux_2_34"
    assert {"--only-binary", "--require-hashes", "--no-deps"} <= set(calls[0])

    broken = sp.CompletedProcess([], 1, "", "error: rpds-py==2026.9.1 has no wheel for cp313-manylinux\n")
    calls.clear()
    monkeypatch.setattr(runtime, "_run", lambda cmd: calls.append(cmd) or broken)
    with pytest.raises(runtime.BuildError, match="has no wheel for cp313"):
        runtime.install_dependencies(ROOT / "requirements.lock", tmp_path, "python3.13", "uv")
    assert len(calls) == 1
    with pytest.raises(runtime.BuildError, match="python3.10"):
        runtime.install_dependencies(ROOT / "requirements.lock", tmp_path, "python3.10", "uv")


# --- bytecode shipped in the package (issue 15) ------------------------------------------------

BYTECODE_PROBE = r"""
import json, sys
root = sys.argv[1]
sys.path.insert(0, root)
import app, chalicelib.settings, plugins.channel_form
print(json.dumps({"poisoned_module_ran": getattr(chalicelib.settings, "POISONED", False),
                  "settings_cached": chalicelib.settings.__cached__,
                  "routes": len(app.app.routes)}))
"""


def _unzip_read_only(package: Path, dest: Path, *, drop_bytecode: bool = False) -> Path:
    with zipfile.ZipFile(package / "deployment.zip") as zf:
        zf.extractall(dest)
    if drop_bytecode:
        for pyc in dest.rglob("*.pyc"):
            pyc.unlink()
    # Prove the bytecode is what runs: change a source after compiling. An unchecked-hash .pyc is
    # loaded without looking at the source; without bytecode the changed source would run.
    settings = dest / "chalicelib" / "settings.py"
    settings.write_text(settings.read_text() + "\nPOISONED = True\n")
    for p in sorted(dest.rglob("*"), reverse=True):  # read-only like Lambda's /var/task
        p.chmod(0o555 if p.is_dir() else 0o444)
    return dest


def _bytecode_probe(root: Path) -> dict[str, Any]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_DEFAULT_REGION": "ap-northeast-1"}
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", BYTECODE_PROBE, str(root)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_package_ships_unchecked_bytecode_for_every_module(package: Path) -> None:
    from infra.bytecode import is_unchecked_pyc

    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(package / "deployment.zip") as zf:
        names = set(zf.namelist())
        sources = [n for n in names if n.endswith(".py") and n.split("/")[0] in ("app.py", "chalicelib", "plugins",
                                                                                  "pynamodb", "botocore", "chalice")]
        assert len(sources) > 100
        missing = []
        for src in sources:
            parent, _, name = src.rpartition("/")
            pyc = f"{parent + '/' if parent else ''}__pycache__/{name[:-3]}.{tag}.pyc"
            if pyc not in names or not is_unchecked_pyc(zf.read(pyc)):
                missing.append(src)
    assert missing == [], missing[:10]


def test_package_imports_run_the_shipped_bytecode(package: Path, tmp_path: Path) -> None:
    shipped = _bytecode_probe(_unzip_read_only(package, tmp_path / "shipped"))
    assert shipped["poisoned_module_ran"] is False  # the .pyc ran, not the (changed) source
    assert shipped["settings_cached"].endswith(f"__pycache__/settings.{sys.implementation.cache_tag}.pyc")
    assert shipped["routes"] > 10
    # The control: the same package without its bytecode runs the changed source.
    bare = _bytecode_probe(_unzip_read_only(package, tmp_path / "bare", drop_bytecode=True))
    assert bare["poisoned_module_ran"] is True


def test_the_default_package_is_built_for_python311_throughout(package: Path, template: dict[str, Any]) -> None:
    """The control of ``test_package_runtime.py``: the default build's binaries and template say 3.11."""
    from tests.functional.test_package_runtime import assert_built_for

    tags = assert_built_for(package / "deployment.zip", template, "python3.11")
    assert tags["pyc"] == ["cpython-311"]


def test_a_cached_deployment_zip_cut_short_is_rebuilt_not_shipped(package: Path, tmp_path: Path) -> None:
    """Chalice reuses its cached zip unread; a truncated one (a build killed mid-write) used to fail
    the next build with BadZipFile (seen in a clean-clone CI run) or worse, ship."""
    cached = list((ROOT / "build" / "src" / ".chalice" / "deployments").glob("*.zip"))
    assert cached, "the package fixture leaves Chalice's cache behind"
    for zip_path in cached:
        zip_path.write_bytes(zip_path.read_bytes()[:4096])
    out = tmp_path / "again"
    proc = subprocess.run([sys.executable, "-m", "infra.build_package", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not a valid zip: rebuilding" in proc.stderr
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        assert zf.testzip() is None

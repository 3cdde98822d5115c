"""Build the deployable Chalice/SAM package: ``python -m infra.build_package [--out DIR] [--stage NAME]``.

Steps (see ARCHITECTURE.md, "Packaging trap"):

1. Stage the project in ``build/src`` (app.py, chalicelib/ without bytecode,
   .chalice config) with a ``vendor/`` holding copies of ``rules/`` and
   ``plugins/``. Chalice ships only app.py, chalicelib/ and the *contents* of
   vendor/ (at the zip root), so this is what puts ``rules/`` and ``plugins/``
   next to app.py in the Lambda zip; packaging a copy means tests or servers
   importing the working tree meanwhile cannot corrupt the zip.
2. Write ``build/merge-template.json``: the service table (generated from
   ``chalicelib.store.schema.table_definition``), the raw S3 bucket, each
   function's HELPDESK_TABLE / HELPDESK_RAW_BUCKET pointing at them, and each
   Chalice-managed role's policy (from ``.chalice/policy.json``) narrowed to
   exactly those resources.
3. The dependencies for the Lambda runtime chosen with ``--runtime`` (``python3.11``,
   ``python3.12``, ``python3.13``; ``infra/runtime.py``): ``uv pip install --target``
   of ``requirements.lock`` (hashes required) with manylinux wheels of that Python
   version only, into the staged ``vendor/``, so the zip never holds a compiled
   extension of the build interpreter's version. Chalice gets an empty requirements
   file and ships ``vendor/`` as it is.
4. ``chalice package --merge-template`` into ``--out`` (fake credentials, never
   AWS), then ``cfn-lint`` the SAM template; any error fails the build. Every
   function's ``Runtime`` is the ``PythonRuntime`` Parameter, whose default is the
   runtime built for, and a template Rule refuses a deploy with another one.

Writes only the git-ignored ``build/`` (Chalice's zip cache lives in
``build/src/.chalice/deployments``, pruned to the newest zip; downloaded wheels in uv's cache). ``--vendor-only``
just recreates the top-level ``vendor/``, e.g. before ``chalice deploy``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # importing the app below must not leave __pycache__ for Chalice to zip

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra.runtime import (  # noqa: E402
    DEFAULT_RUNTIME,
    RUNTIMES,
    compile_for_runtime,
    install_dependencies,
    runtime_parameter,
    runtime_rules,
)
from infra.template_cognito import (  # noqa: E402
    api_authorizer,
    api_environment,
    check_authorizer,
    cognito_conditions,
    cognito_environment,
    cognito_outputs,
    cognito_parameters,
    cognito_resources,
    guarded_routes,
)
from infra.template_ops import (  # noqa: E402
    DLQ_ID,
    TOPIC_ID,
    alarm_resources,
    dlq_resources,
    function_ops,
    log_group,
    role_statements,
)
from infra.template_params import (  # noqa: E402
    conditions,
    function_environment,
    parameters,
    secret_arns,
    secret_id,
    secret_resources,
    sized_functions,
)
from infra.template_resources import (  # noqa: E402  (needs ROOT on sys.path)
    BUCKET_ID,
    EMAIL_CONFIG_SET_ID,
    EMAIL_TOPIC_ID,
    TABLE_ID,
    BuildError,
    bucket_resources,
    email_resources,
    table_resource,
    wire_email_events,
)

VENDOR_DIR = ROOT / "vendor"
VENDORED = ("rules", "plugins")
BUILD_DIR = ROOT / "build"
STAGE_DIR = BUILD_DIR / "src"
MERGE_TEMPLATE = BUILD_DIR / "merge-template.json"
REGION = "ap-northeast-1"
API_STAGE = "api"  # .chalice/config.json api_gateway_stage
SECRET_OUTPUTS = ("FORM_WEBHOOK_SECRET", "EMAIL_WEBHOOK_SECRET", "CHAT_WEBHOOK_SECRET")
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}

# .chalice/policy.json statements (by Sid) whose Resource is replaced by the
# template's own resources; the static name patterns there serve `chalice deploy`.
SCOPED_RESOURCES: dict[str, list[Any]] = {
    "HelpdeskTableItems": [{"Fn::GetAtt": [TABLE_ID, "Arn"]}],
    "HelpdeskTableIndexes": [{"Fn::Sub": f"${{{TABLE_ID}.Arn}}/index/*"}],
    "HelpdeskRawObjects": [{"Fn::Sub": f"${{{BUCKET_ID}.Arn}}/*"}],
    "HelpdeskSecrets": [{"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/helpdesk/"
                                    "${Stage}/*"}],
}


def _tool(name: str) -> str:
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
                                                  _tool("uv"))
    return counts


def chalice_resources(stage: str) -> tuple[str, list[str], dict[str, Path]]:
    """App name, SAM logical ids of the app's functions, and role id -> policy file, as Chalice names them.

    Uses Chalice's own application graph, so functions added later (schedules,
    stream consumers, authorizers) are wired without editing this file.
    """
    from chalice.cli.factory import CLIFactory
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
    from chalice.utils import to_cfn_resource_name

    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=stage)
    graph = DependencyBuilder().build_dependencies(ApplicationGraphBuilder().build(config, stage))
    api_handlers = {id(r.lambda_function) for r in graph if isinstance(r, models.RestAPI)}
    functions, roles = [], {}
    for res in graph:
        if isinstance(res, models.LambdaFunction):
            # chalice package renames the REST API's handler to "APIHandler".
            functions.append("APIHandler" if id(res) in api_handlers else to_cfn_resource_name(res.resource_name))
        elif isinstance(res, models.ManagedIAMRole) and isinstance(res.policy, models.FileBasedIAMPolicy):
            roles[to_cfn_resource_name(res.resource_name)] = Path(res.policy.filename)
    return config.app_name, functions, roles


WORKER_ID = "Worker"  # ``@bp.lambda_function(name="worker")`` in chalicelib/kpi_jobs.py
WORKER_ENV = "HELPDESK_WORKER_FUNCTION"
# The worker's name is generated by CloudFormation (<stack>-Worker-<suffix>); a pattern, since the role
# cannot refer to a function that refers to the role.
WORKER_ARN = {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
                         "${AWS::StackName}-" + WORKER_ID + "-*"}


def scoped_policy(policy_file: Path) -> dict[str, Any]:
    """The policy file with the data statements pointed at this template's table, indexes, bucket and parameters,
    plus the DLQ, the stage's secrets and X-Ray."""
    doc = json.loads(policy_file.read_text())
    doc["Statement"] = doc["Statement"] + role_statements(secret_arns()) + [
        {"Sid": "BackgroundJobs", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [WORKER_ARN]}]
    seen = set()
    for statement in doc["Statement"]:
        sid = statement.get("Sid")
        if sid in SCOPED_RESOURCES:
            statement["Resource"] = SCOPED_RESOURCES[sid]
            seen.add(sid)
    missing = sorted(set(SCOPED_RESOURCES) - seen)
    if missing:
        raise BuildError(f"{policy_file}: statements {missing} not found (the build scopes them to the template)")
    return doc


def merge_template(stage: str, runtime: str = DEFAULT_RUNTIME) -> tuple[dict[str, Any], list[str]]:
    """The template merged into Chalice's SAM output (dicts merge deeply; lists and values replace).

    Returns the template and the logical ids of the functions it wires.
    """
    app_name, functions, roles = chalice_resources(stage)
    resources: dict[str, Any] = {TABLE_ID: table_resource({"Fn::Sub": f"{app_name}-${{Stage}}"})}
    resources.update(bucket_resources(f"{app_name}-${{Stage}}-raw-${{AWS::AccountId}}-${{AWS::Region}}"))
    resources.update(email_resources())
    resources.update(secret_resources())
    resources.update(dlq_resources())
    endpoint = f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{API_STAGE}"
    resources.update(cognito_resources({"Fn::Sub": f"{endpoint}/console"}))
    env = {"HELPDESK_TABLE": {"Ref": TABLE_ID}, "HELPDESK_RAW_BUCKET": {"Ref": BUCKET_ID},
           "EMAIL_CONFIGURATION_SET": {"Ref": EMAIL_CONFIG_SET_ID}, **function_environment(),
           **cognito_environment()}
    from chalice.utils import to_cfn_resource_name

    sized = {to_cfn_resource_name(name) for name in sized_functions()}  # jobs .chalice/config.json sizes itself
    for fn in functions:
        is_async = fn != "APIHandler"
        short = "api" if not is_async else fn_short_names(functions)[fn]
        # Every other function may hand work to the worker (chalicelib.background); the worker itself
        # must not name itself (a circular reference).
        fn_env = env if fn == WORKER_ID or WORKER_ID not in functions else {**env, WORKER_ENV: {"Ref": WORKER_ID}}
        if not is_async:
            fn_env = {**fn_env, **api_environment()}
        resources[fn] = {"Properties": {"Environment": {"Variables": fn_env}, "Runtime": {"Ref": "PythonRuntime"},
                                        **function_ops(fn, is_async=is_async, own_memory=fn in sized)}}
        resources[f"{fn}LogGroup"] = log_group(fn, short)
    resources["RestAPI"] = api_authorizer(guarded_routes(_app()))
    resources["RestAPI"]["Properties"]["Name"] = {"Fn::Sub": f"{app_name}-${{Stage}}"}
    resources.update(alarm_resources(to_cfn_resource_name("sweep") if "Sweep" in functions else None,
                                     {"Fn::Sub": f"{app_name}-${{Stage}}"}))
    wire_email_events(resources, functions)
    for role, policy_file in roles.items():
        doc = scoped_policy(policy_file)
        resources[role] = {"Properties": {"Policies": [{"PolicyName": f"{role}Policy", "PolicyDocument": doc}]}}
    outputs = {
        "HelpdeskTableName": {"Value": {"Ref": TABLE_ID}},
        "HelpdeskTableStreamArn": {"Value": {"Fn::GetAtt": [TABLE_ID, "StreamArn"]}},
        "HelpdeskRawBucketName": {"Value": {"Ref": BUCKET_ID}},
        "HelpdeskEmailConfigurationSet": {"Value": {"Ref": EMAIL_CONFIG_SET_ID}},
        "HelpdeskSesFeedbackTopicArn": {"Value": {"Ref": EMAIL_TOPIC_ID}},
        "ConsoleURL": {"Description": "The support console (sign in with an agent token)",
                       "Value": {"Fn::Sub": f"{endpoint}/console"}},
        "AlarmTopicArn": {"Description": "Subscribe more people or tools to the alarms here",
                          "Value": {"Ref": TOPIC_ID}},
        "AsyncFailureQueueUrl": {"Description": "Failed asynchronous invocations (helpdesk dlq list/redrive)",
                                 "Value": {"Ref": DLQ_ID}},
        "Stage": {"Value": {"Ref": "Stage"}},
        **cognito_outputs(),
    }
    for name in sorted(SECRET_OUTPUTS):
        outputs[secret_id(name)] = {"Description": f"Secrets Manager secret holding {name}",
                                    "Value": {"Ref": secret_id(name)}}
    template = {"Parameters": {**parameters(stage), **cognito_parameters(), **runtime_parameter(runtime)},
                "Rules": runtime_rules(runtime),
                "Conditions": {**conditions(), **cognito_conditions()}, "Resources": resources, "Outputs": outputs}
    return template, functions


def _app() -> Any:
    """The Chalice app of the working tree (its routes decide what the Cognito authorizer guards)."""
    from app import app

    return app


def fn_short_names(functions: list[str]) -> dict[str, str]:
    """Function logical id -> the short name used in log group names (``Sweep`` -> ``sweep``)."""
    import re

    return {fn: re.sub(r"(?<!^)(?=[A-Z])", "-", fn).lower() for fn in functions}


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def check_out_dir(out: Path) -> None:
    """Refuse an output folder holding anything but a previous package (it is wiped before packaging)."""
    if out.exists():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ("deployment.zip", "sam.json"))
        if foreign:  # e.g. a mistyped --out .
            raise BuildError(f"{out} holds files this build did not write ({foreign[:3]}); choose an empty --out")


def chalice_package(stage: str, out: Path) -> str:
    """Run ``chalice package`` with the merge template; returns its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(FAKE_AWS_ENV, PYTHONDONTWRITEBYTECODE="1")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [_tool("chalice"), "--project-dir", str(STAGE_DIR), "package", "--stage", stage,
           "--merge-template", str(MERGE_TEMPLATE), str(out)]
    proc = _run(cmd, env)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise BuildError(f"chalice package failed ({proc.returncode}):\n{output}")
    return output


def prune_dependency_cache(chalice_output: str) -> None:
    """Keep only the newest zip in ``.chalice/deployments`` (Chalice adds a ~27 MB one per code change)."""
    if "Reusing existing deployment package" in chalice_output:
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
    proc = _run([_tool("cfn-lint"), "--regions", REGION, "--non-zero-exit-code", "error", "--", str(template_path)])
    if proc.returncode != 0:
        raise BuildError(f"cfn-lint reported errors for {template_path}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


def build(out: Path, stage: str, runtime: str = DEFAULT_RUNTIME) -> dict[str, Any]:
    """Build the package into ``out``; returns a summary (paths, sizes, timings).

    Builds in one working tree share ``build/src``: a second one waits for the first (a lock file),
    instead of reinstalling ``vendor/`` under the first one's zip (a clean-clone CI run lost files mid-zip).
    """
    import fcntl

    BUILD_DIR.mkdir(exist_ok=True)
    with open(BUILD_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(out, stage, runtime)


def _build(out: Path, stage: str, runtime: str) -> dict[str, Any]:
    started = time.monotonic()
    check_out_dir(out)
    vendored = stage_source(runtime)
    template, functions = merge_template(stage, runtime)
    BUILD_DIR.mkdir(exist_ok=True)
    MERGE_TEMPLATE.write_text(json.dumps(template, indent=2) + "\n")
    output = chalice_package(stage, out)
    if not zipfile.is_zipfile(out / "deployment.zip"):
        # Chalice reuses its cached zip without reading it; one cut short (a build killed mid-write,
        # a full disk) would be shipped as is. Drop the cache and package once more.
        print("cached deployment package is not a valid zip: rebuilding it", file=sys.stderr)
        shutil.rmtree(STAGE_DIR / ".chalice" / "deployments", ignore_errors=True)
        output = chalice_package(stage, out)
    prune_dependency_cache(output)
    check_package(out, template, functions)
    check_authorizer(json.loads((out / "sam.json").read_text()), guarded_routes(_app()))
    lint = cfn_lint(out / "sam.json")
    zip_path = out / "deployment.zip"
    compiled, bytecode_note = compile_for_runtime(zip_path, runtime)  # no compiling on every cold start
    with zipfile.ZipFile(zip_path) as zf:
        unzipped = sum(i.file_size for i in zf.infolist())
    return {
        "stage": stage,
        "runtime": runtime,
        "bytecode_note": bytecode_note,
        "zip": zip_path,
        "template": out / "sam.json",
        "merge_template": MERGE_TEMPLATE,
        "zip_bytes": zip_path.stat().st_size,
        "unzipped_bytes": unzipped,
        "vendored": vendored,
        "bytecode_files": compiled,
        "functions": functions,
        "cached_dependencies": "Reusing existing deployment package" in output,
        "lint_warnings": lint,
        "seconds": time.monotonic() - started,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder (default build/<stage>)")
    parser.add_argument("--stage", default="dev", help="stage: the Stage parameter's default (default dev)")
    parser.add_argument("--runtime", default=DEFAULT_RUNTIME, choices=RUNTIMES,
                        help=f"Lambda runtime the dependencies are fetched for (default {DEFAULT_RUNTIME})")
    parser.add_argument("--vendor-only", action="store_true", help="only recreate vendor/ (before `chalice deploy`)")
    args = parser.parse_args(argv)
    if args.vendor_only:
        counts = vendor_folders()
        print(f"vendored  {', '.join(f'{k}/ ({n} files)' for k, n in counts.items())} into {VENDOR_DIR}")
        return 0
    out = args.out or BUILD_DIR / args.stage
    out = out if out.is_absolute() else Path.cwd() / out
    try:
        summary = build(out.resolve(), args.stage, args.runtime)
    except BuildError as exc:
        print(f"build_package: FAILED: {exc}", file=sys.stderr)
        return 1
    mb = 1024 * 1024
    print(f"package   {summary['zip']}  {summary['zip_bytes'] / mb:.1f} MB zipped, "
          f"{summary['unzipped_bytes'] / mb:.1f} MB unzipped (Lambda limits: 50 / 250 MB)")
    print(f"template  {summary['template']}  (cfn-lint: no errors)")
    print(f"merged    {summary['merge_template']}  (table {TABLE_ID}, bucket {BUCKET_ID}, "
          f"functions {', '.join(summary['functions'])})")
    print(f"vendored  {', '.join(f'{k}/ ({n} files)' for k, n in summary['vendored'].items() if k in VENDORED)}")
    print(f"bytecode  {summary['bytecode_note']}")
    print(f"stage {summary['stage']}, runtime {summary['runtime']} ({summary['vendored']['dependencies']} locked "
          f"packages, manylinux wheels for it), {summary['seconds']:.1f} s")
    if summary["lint_warnings"]:
        print(f"cfn-lint warnings:\n{summary['lint_warnings']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the deployable Chalice/SAM package: ``python -m infra.build_package [--out DIR] [--stage NAME]``.

Steps (see ARCHITECTURE.md, "Packaging trap"); this module runs them in order, each lives in its own:

1. ``infra/build_stage.py``: stage the project in ``build/src`` (app.py, chalicelib/
   without bytecode, .chalice config) with a ``vendor/`` holding copies of ``rules/`` and
   ``plugins/``. Chalice ships only app.py, chalicelib/ and the *contents* of
   vendor/ (at the zip root), so this is what puts ``rules/`` and ``plugins/``
   next to app.py in the Lambda zip; packaging a copy means tests or servers
   importing the working tree meanwhile cannot corrupt the zip.
2. ``infra/template_merge.py``: write ``build/merge-template.json``: the service table
   (generated from ``chalicelib.store.schema.table_definition``), the raw S3 bucket, each
   function's HELPDESK_TABLE / HELPDESK_RAW_BUCKET pointing at them, and each
   Chalice-managed role's policy (from ``.chalice/policy.json``) narrowed to
   exactly those resources.
3. The dependencies for the Lambda runtime chosen with ``--runtime`` (``python3.11``,
   ``python3.12``, ``python3.13``; ``infra/runtime.py``): ``uv pip install --target``
   of ``requirements.lock`` (hashes required) with manylinux wheels of that Python
   version only, into the staged ``vendor/``, so the zip never holds a compiled
   extension of the build interpreter's version. Chalice gets an empty requirements
   file and ships ``vendor/`` as it is.
4. ``infra/build_chalice.py``: ``chalice package --merge-template`` into ``--out`` (fake
   credentials, never AWS), the package checks, then ``cfn-lint`` the SAM template; any
   error fails the build. Every function's ``Runtime`` is the ``PythonRuntime`` Parameter,
   whose default is the runtime built for, and a template Rule refuses a deploy with another one.
5. The runtime's bytecode is added to the zip (``infra/runtime.py``, ``infra/bytecode.py``).

Writes only the git-ignored ``build/`` (Chalice's zip cache lives in
``build/src/.chalice/deployments``, pruned to the newest zip; downloaded wheels in uv's cache). ``--vendor-only``
just recreates the top-level ``vendor/``, e.g. before ``chalice deploy``. Builds in one working tree
take turns (``build/.build.lock``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # importing the app below must not leave __pycache__ for Chalice to zip

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The names below are this module's interface (tests, bench/ and `make package` use it); each step lives
# in its own module.
from infra.build_chalice import (  # noqa: E402  (needs ROOT on sys.path)
    FAKE_AWS_ENV,
    REGION,
    REUSED,
    cfn_lint,
    chalice_package,
    check_out_dir,
    check_package,
    package_with_valid_zip,
    prune_dependency_cache,
)
from infra.build_stage import (  # noqa: E402
    BUILD_DIR,
    MERGE_TEMPLATE,
    STAGE_DIR,
    VENDOR_DIR,
    VENDORED,
    build_lock,
    stage_source,
    vendor_folders,
)
from infra.runtime import DEFAULT_RUNTIME, RUNTIMES, compile_for_runtime  # noqa: E402
from infra.template_cognito import check_authorizer, guarded_routes  # noqa: E402
from infra.template_merge import (  # noqa: E402
    API_STAGE,
    SCOPED_RESOURCES,
    SECRET_OUTPUTS,
    WORKER_ARN,
    WORKER_ENV,
    WORKER_ID,
    chalice_resources,
    fn_short_names,
    merge_template,
    scoped_policy,
    working_app,
)
from infra.template_resources import BUCKET_ID, TABLE_ID, BuildError  # noqa: E402

__all__ = [
    "API_STAGE", "BUILD_DIR", "FAKE_AWS_ENV", "MERGE_TEMPLATE", "REGION", "ROOT", "SCOPED_RESOURCES",
    "SECRET_OUTPUTS", "STAGE_DIR", "VENDORED", "VENDOR_DIR", "WORKER_ARN", "WORKER_ENV", "WORKER_ID", "BuildError",
    "build", "cfn_lint", "chalice_package", "chalice_resources", "check_out_dir", "check_package", "fn_short_names",
    "main", "merge_template", "prune_dependency_cache", "scoped_policy", "stage_source", "vendor_folders",
]


def build(out: Path, stage: str, runtime: str = DEFAULT_RUNTIME) -> dict[str, Any]:
    """Build the package into ``out``; returns a summary (paths, sizes, timings).

    Builds in one working tree share ``build/src``: a second one waits for the first (a lock file),
    instead of reinstalling ``vendor/`` under the first one's zip (a clean-clone CI run lost files mid-zip).
    """
    with build_lock():
        return _build(out, stage, runtime)


def _build(out: Path, stage: str, runtime: str) -> dict[str, Any]:
    started = time.monotonic()
    check_out_dir(out)
    vendored = stage_source(runtime)
    template, functions = merge_template(stage, runtime)
    BUILD_DIR.mkdir(exist_ok=True)
    MERGE_TEMPLATE.write_text(json.dumps(template, indent=2) + "\n")
    output = package_with_valid_zip(stage, out)
    prune_dependency_cache(output)
    check_package(out, template, functions)
    check_authorizer(json.loads((out / "sam.json").read_text()), guarded_routes(working_app()))
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
        "cached_dependencies": REUSED in output,
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

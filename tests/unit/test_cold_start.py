"""Cold start: ``import app`` (what every Lambda function of the app runs first) loads no AWS SDK,
no pynamodb, no jsonschema and no channel SDK; each is imported by the first request that needs it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ["boto3", "botocore", "pynamodb", "jsonschema", "jsonschema_rs", "holidays", "slack_sdk", "ulid",
         "aws_lambda_powertools"]


def test_import_app_loads_no_heavy_library():
    code = ("import json, sys, app; "
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules "
            "and type(sys.modules[m]).__name__ != '_LazyModule')))")
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {code}"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_lazy_modules_load_on_first_use():
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import app; from chalicelib.api import tickets; "
            "tickets.flow.change_ticket; print('pynamodb' in sys.modules)")
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"

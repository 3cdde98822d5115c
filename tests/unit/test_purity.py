"""The pure core imports no AWS library."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

PURE = ["chalicelib.domain", "chalicelib.errors", "chalicelib.settings", "chalicelib.hookspecs",
        "chalicelib.engine", "chalicelib.sla", "chalicelib.mail", "chalicelib.backoff", "chalicelib.recipients",
        "chalicelib.privacy"]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_aws(module):
    code = (
        f"import {module}, sys; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'pynamodb', 'chalice'}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"

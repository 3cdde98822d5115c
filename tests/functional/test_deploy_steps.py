"""The README's "Deploying" steps, run verbatim in a fresh clone up to the package (everything that
needs no AWS account), and the template they produce: cfn-lint clean with every Parameter, every
environment variable the code reads set by the template or documented with its default, alarms,
on-failure queue, per-stage secrets and outputs.

The clone is of the committed HEAD (as CI's clean clone is): commit before running this locally.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.env_usage import usages
from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

STOP_MARKER = "# from here on you need your AWS account"
EXPECTED_PARAMETERS = {"Stage", "EmailFrom", "NotifyEmailFrom", "PublicBaseUrl", "ApiMemorySize", "JobMemorySize",
                       "LogRetentionDays", "AlarmEmail", "Tracing", "AuthMode", "CognitoAgentClaim",
                       "CognitoDomainPrefix", "PythonRuntime"}
COGNITO_RESOURCES = ("CognitoUserPool", "CognitoUserPoolClient", "CognitoUserPoolDomain", "CognitoClientIdParameter")


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def deploy_commands() -> list[str]:
    """The shell commands of the section's first ``sh`` block, up to the stop marker (continuations joined)."""
    block = re.search(r"```sh\n(.*?)```", readme_section("Deploying"), re.S)
    assert block, "the Deploying section has no ```sh block"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    assert STOP_MARKER in (line.split(":")[0] for line in lines), f"no {STOP_MARKER!r} line"
    commands = []
    for line in lines:
        if line.startswith(STOP_MARKER):
            break
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
    return commands


@pytest.fixture(scope="module")
def followed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the README's commands as a user would, printing each exactly as written; the clone's path."""
    home = tmp_path_factory.mktemp("deploy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIRTUAL_ENV", "PYTHON"))}
    cwd = home
    commands = deploy_commands()
    assert commands[0].startswith("git clone <this repository> ")
    assert "make package STAGE=prod" in commands
    for command in commands:
        print(f"$ {command}", flush=True)
        argv = shlex.split(command.replace("<this repository>", str(ROOT)))
        if argv[0] == "cd":  # `git clone ... helpdesk && cd helpdesk` is two steps for subprocess
            raise AssertionError("write `cd` as part of an && chain")
        if "&&" in argv:
            first, rest = argv[: argv.index("&&")], argv[argv.index("&&") + 1:]
            assert rest[0] == "cd", command
            subprocess.run(first, cwd=cwd, env=env, check=True, timeout=600)
            cwd = cwd / rest[1]
            continue
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
        print(proc.stdout[-4000:], proc.stderr[-4000:])
        assert proc.returncode == 0, f"{command} failed"
    return cwd


@pytest.fixture(scope="module")
def template(followed: Path) -> dict[str, Any]:
    return json.loads((followed / "build" / "prod" / "sam.json").read_text())


def test_readme_deploy_steps_build_the_prod_package(followed: Path) -> None:
    out = followed / "build" / "prod"
    assert (out / "deployment.zip").stat().st_size > 5_000_000
    assert (out / "sam.json").is_file()
    assert not (followed / "build" / "package").exists()  # each stage has its own folder


def test_packaged_template_is_cfn_lint_clean_with_every_parameter(followed: Path, template: dict[str, Any]) -> None:
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--regions", "ap-northeast-1", "--",
                           str(followed / "build" / "prod" / "sam.json")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout  # 0: no errors, no warnings, no informational findings
    assert set(template["Parameters"]) == EXPECTED_PARAMETERS
    assert template["Parameters"]["Stage"]["Default"] == "prod"
    body = json.dumps(template["Resources"]) + json.dumps(template.get("Conditions", {}))
    for name in EXPECTED_PARAMETERS:  # each one is used
        assert f'{{"Ref": "{name}"}}' in body or f"${{{name}}}" in body, name


def test_cognito_mode_is_one_parameter_and_lints_clean_on_and_off(followed: Path, template: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    from app import app
    from chalicelib.api.openapi import needs_agent

    res = template["Resources"]
    assert all(res[rid]["Condition"] == "UseCognito" for rid in COGNITO_RESOURCES)
    assert template["Conditions"]["UseCognito"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "cognito"]}
    client = res["CognitoUserPoolClient"]["Properties"]
    assert (client["GenerateSecret"], client["AllowedOAuthFlows"]) == (False, ["code"])  # public client, PKCE
    assert client["CallbackURLs"][0] == client["LogoutURLs"][0] == template["Outputs"]["ConsoleURL"]["Value"]
    assert "email" not in client["WriteAttributes"]  # an agent cannot take a colleague's address
    assert res["CognitoUserPool"]["Properties"]["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    # The authorizer guards exactly the routes that authenticate an agent; webhooks and the console stay open.
    body = res["RestAPI"]["Properties"]["DefinitionBody"]
    guarded = {(path, m) for path, ops in body["paths"].items() for m, op in ops.items() if "security" in op}
    expected = {(path, m.lower()) for path, methods in app.routes.items() for m, entry in methods.items()
                if needs_agent(entry.view_function)}
    assert guarded == expected and len(guarded) >= 30
    assert not {("/webhooks/form", "post"), ("/console", "get"), ("/openapi.json", "get")} & guarded
    authorizer = body["securityDefinitions"]["HelpdeskCognito"]["Fn::If"][1]["x-amazon-apigateway-authorizer"]
    assert authorizer["providerARNs"] == [{"Fn::GetAtt": ["CognitoUserPool", "Arn"]}]
    for rid, r in res.items():
        if r["Type"] == "AWS::Serverless::Function":
            env = r["Properties"]["Environment"]["Variables"]
            assert env["HELPDESK_AUTH_MODE"] == {"Ref": "AuthMode"}, rid
            assert env["HELPDESK_COGNITO_AGENT_CLAIM"] == {"Ref": "CognitoAgentClaim"}, rid
    param = res["APIHandler"]["Properties"]["Environment"]["Variables"]["HELPDESK_COGNITO_CLIENT_ID_PARAM"]
    assert param["Fn::If"][1] == res["CognitoClientIdParameter"]["Properties"]["Name"] == {
        "Fn::Sub": "/helpdesk/${Stage}/cognito-client-id"}  # inside the role's parameter/helpdesk/${Stage}/*
    # cfn-lint follows both branches of every condition; lint the template with Cognito's defaults on too.
    on = json.loads(json.dumps(template))
    on["Parameters"]["AuthMode"]["Default"] = "cognito"
    on["Parameters"]["PublicBaseUrl"]["Default"] = "https://help.example.com"
    (tmp_path / "cognito-on.json").write_text(json.dumps(on))
    (tmp_path / "cognito-off.json").write_text(json.dumps(template))
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--regions", "ap-northeast-1", "--",
                           str(tmp_path / "cognito-on.json"), str(tmp_path / "cognito-off.json")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def _function_env(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rid: r["Properties"]["Environment"]["Variables"] for rid, r in template["Resources"].items()
            if r["Type"] == "AWS::Serverless::Function"}


def documented_defaults() -> dict[str, str]:
    """``NAME -> default`` from the README's Configuration tables (rows ``| `NAME` | default | meaning |``)."""
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_<>]*)` \| ([^|]+) \|", readme_section("Configuration"), re.M)
    return {name: default.strip() for name, default in rows}


def test_every_environment_variable_the_code_reads_is_set_by_the_template_or_documented(template) -> None:
    envs = _function_env(template)
    set_everywhere = set.intersection(*(set(v) for v in envs.values()))
    documented = documented_defaults()
    missing = []
    for use in usages():
        name = use.name
        if use.kind.endswith("prefix"):
            ok = any(d.startswith(name) and "<" in d for d in documented)
        elif use.kind == "secret":
            ok = f"{name}_SECRET_ID" in set_everywhere or name in documented
        else:
            ok = name in set_everywhere or bool(documented.get(name))
        if not ok:
            missing.append(f"{name} ({use.kind}, {use.where})")
    assert not missing, "neither set by the template nor in README 'Configuration' with a default: " + ", ".join(
        missing)
    for name in ("HELPDESK_TABLE", "HELPDESK_RAW_BUCKET", "EMAIL_FROM", "NOTIFY_EMAIL_FROM",
                 "HELPDESK_PUBLIC_BASE_URL", "FORM_WEBHOOK_SECRET_SECRET_ID", "EMAIL_WEBHOOK_SECRET_SECRET_ID"):
        assert name in set_everywhere, name
    assert not [n for n in set_everywhere if n.endswith("_PARAM")]  # no SSM name shared by every stage


def test_alarms_topic_and_on_failure_queue(template: dict[str, Any]) -> None:
    res = template["Resources"]
    alarms = {rid: r["Properties"] for rid, r in res.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"SweepErrorsAlarm", "SweepHeartbeatAlarm", "OutboxFailedAlarm", "DeadLetterQueueAlarm",
                           "Api5xxRateAlarm"}
    for props in alarms.values():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    beat = alarms["SweepHeartbeatAlarm"]
    assert (beat["MetricName"], beat["TreatMissingData"], beat["Period"] * beat["EvaluationPeriods"]) == (
        "SweepRuns", "breaching", 180)
    assert alarms["SweepErrorsAlarm"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "Sweep"}}]
    assert alarms["OutboxFailedAlarm"]["MetricName"] == "NotificationsFailed"
    assert alarms["DeadLetterQueueAlarm"]["Namespace"] == "AWS/SQS"
    assert alarms["Api5xxRateAlarm"]["MetricName"] == "5XXError"
    assert res["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert res["AsyncFailureQueue"]["Type"] == "AWS::SQS::Queue"
    for rid, props in ((rid, r["Properties"]) for rid, r in res.items() if r["Type"] == "AWS::Serverless::Function"):
        assert props["LoggingConfig"]["LogGroup"] == {"Ref": f"{rid}LogGroup"}
        if rid == "APIHandler":  # synchronous: API Gateway gets the error
            assert "EventInvokeConfig" not in props
            continue
        on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}}, rid
        role = res[props["Role"]["Fn::GetAtt"][0]]
        statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        assert any(s["Action"] == ["sqs:SendMessage"] for s in statements), rid


def test_secrets_are_generated_per_stage_and_outputs_have_clean_urls(template: dict[str, Any]) -> None:
    res = template["Resources"]
    secrets = {r["Properties"]["Name"]["Fn::Sub"] for r in res.values() if r["Type"] == "AWS::SecretsManager::Secret"}
    assert {"helpdesk/${Stage}/form-webhook-secret", "helpdesk/${Stage}/email-webhook-secret"} <= secrets
    assert all(r["Properties"].get("GenerateSecretString") for r in res.values()
               if r["Type"] == "AWS::SecretsManager::Secret")
    subs = {"RestAPI": "abc123", "AWS::Region": "ap-northeast-1", "AWS::URLSuffix": "amazonaws.com"}
    for key in ("EndpointURL", "ConsoleURL"):
        url = re.sub(r"\$\{([^}]+)\}", lambda m: subs[m.group(1)], template["Outputs"][key]["Value"]["Fn::Sub"])
        assert "//" not in url.split("://", 1)[1], url
    assert template["Outputs"]["ConsoleURL"]["Value"]["Fn::Sub"].endswith("/api/console")
    assert res["HelpdeskTable"]["Properties"]["TableName"] == {"Fn::Sub": "helpdesk-${Stage}"}


def test_the_zip_holds_exactly_the_locked_versions(followed: Path) -> None:
    import zipfile

    with zipfile.ZipFile(followed / "build" / "prod" / "deployment.zip") as zf:
        shipped = {re.sub(r"[-_.]+", "-", m.group(1).lower()): m.group(2)
                   for n in zf.namelist() if (m := re.match(r"^([^/]+)-([^-/]+)\.dist-info/METADATA$", n))}
    locked = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", (ROOT / "requirements.lock").read_text(), re.M))
    assert shipped == {re.sub(r"[-_.]+", "-", k): v for k, v in locked.items()}


def test_packaged_functions_have_the_configured_memory_and_timeout(template: dict[str, Any]) -> None:
    """The built SAM template (README steps) gives every function the size .chalice/config.json sets."""
    from infra.template_params import function_sizes
    from tests.functional.test_function_sizes import chalice_names, resolve

    names = chalice_names()
    sizes = function_sizes(list(names.values()))
    params = template["Parameters"]
    for fn, name in names.items():
        props = template["Resources"][fn]["Properties"]
        assert resolve(props["MemorySize"], params) == sizes[name]["memory"], name
        assert props["Timeout"] == sizes[name]["timeout"], name

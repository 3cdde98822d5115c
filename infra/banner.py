"""The local stack's banner: everything a developer needs to send the first webhook and read it back."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from infra.scheduler import ScheduledJob

FORM_EXAMPLE = ('{"name":"Hanako Yamada","email":"hanako@example.com",'
                '"subject":"Coupon not applied","body":"Order A-1001: the coupon was not applied."}')


@dataclass
class BannerInfo:
    """What the banner shows."""

    url: str
    moto_url: str
    stage: str
    agent_id: str
    token: str
    table: str
    bucket: str
    region: str
    secrets: Mapping[str, str]
    jobs: list[ScheduledJob] = field(default_factory=list)
    initial_delay_s: float = 1.0
    clock_now: str = ""
    clock_speed: float = 1.0
    clock_given: bool = False


def agent_add_line(info: BannerInfo) -> str:
    """A shell line that adds an agent to this running stack (``--local``: the CLI talks to this moto)."""
    port = info.moto_url.rsplit(":", 1)[1]
    return (f"MOTO_PORT={port} AWS_REGION={info.region} HELPDESK_TABLE={shlex.quote(info.table)} "
            ".venv/bin/python -m chalicelib.cli --local agent add alice --name 'Alice Agent' "
            "--email alice@example.com --role agent")


def render(info: BannerInfo) -> str:
    """The banner text."""
    if info.jobs:
        schedules = "\n".join(f"    {job.name:<20} {job.schedule.expression}" for job in info.jobs)
        schedules += f"\n    (each also runs once {info.initial_delay_s:g} s after start)"
    else:
        schedules = "    none: the app registers no scheduled functions"
    secret_lines = "\n".join(f"  {name:<22} {value}" for name, value in info.secrets.items())
    moved = "moved by CLOCK" if info.clock_given else "real time"
    clock_line = (f"{info.clock_now} ({moved}, speed x{info.clock_speed:g}); every component uses it.\n"
                  f"  Jump ahead and run due schedules: .venv/bin/python -m infra.local_clock --url {info.url} "
                  f"--token {shlex.quote(info.token)} advance 90")
    form_secret = info.secrets.get("FORM_WEBHOOK_SECRET", "")
    return f"""
================ helpdesk local stack (stage {info.stage}) ================
API            {info.url}
console        {info.url}/console   (sign in with the agent token)
agent token    {info.token}   (agent '{info.agent_id}', role admin)
moto endpoint  {info.moto_url}   (table {info.table}, bucket {info.bucket}; in memory; sent mail:
               {info.moto_url}/moto-api/data.json, key "ses")
clock          {clock_line}
secrets (set by this stack unless given in the environment):
{secret_lines}
schedules
{schedules}

Post a web form:
  curl -sS -X POST {info.url}/webhooks/form -H 'Content-Type: application/json' \\
    -H {shlex.quote('X-Form-Secret: ' + form_secret)} \\
    -d '{FORM_EXAMPLE}'
List tickets:
  curl -sS {info.url}/tickets -H {shlex.quote('Authorization: Bearer ' + info.token)}
Add an agent (prints its token):
  {agent_add_line(info)}
Ctrl-C stops everything.
====================================================================="""

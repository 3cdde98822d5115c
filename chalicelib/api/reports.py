"""KPI reports: ``GET /reports/kpis`` (JSON or CSV) and an on-demand aggregate rebuild. Authenticated."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalice import Blueprint, Response

from chalicelib import roles
from chalicelib.api.common import authenticate, handles_errors, int_param, json_response
from chalicelib.api.tickets import read_json
from chalicelib.domain import utcnow
from chalicelib.errors import ValidationFailed
from chalicelib.kpi.days import day_of, report_timezone
from chalicelib.lazy import LazyValidator, lazy_import

kpis = lazy_import("chalicelib.services.kpis")
background = lazy_import("chalicelib.background")
report_mod = lazy_import("chalicelib.kpi.report")

bp = Blueprint(__name__)
DEFAULT_DAYS = 14
REBUILD_ROLES = roles.PERMISSIONS["rebuild_aggregates"]
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
REBUILD = LazyValidator({"type": "object", "additionalProperties": False, "required": ["from", "to"],
                                "properties": {"from": _DATE, "to": _DATE}})


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "pointer": f"/{field}", "message": message}])


def _date(params: dict[str, str], name: str, default: date) -> date:
    raw = params.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad(name, "must be a date YYYY-MM-DD") from None


def parse_range(params: dict[str, str]) -> tuple[date, date]:
    """``from``/``to`` (local days, inclusive); default: the last 14 days up to today."""
    today = day_of(utcnow(), report_timezone())
    last = _date(params, "to", today)
    first = _date(params, "from", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise _bad("from", "must not be after 'to'")
    return first, last


def wants_csv(params: dict[str, str], headers: Any) -> bool:
    """``format=csv`` or an ``Accept`` header preferring text/csv."""
    if params.get("format"):
        if params["format"] not in ("json", "csv"):
            raise _bad("format", "must be json or csv")
        return params["format"] == "csv"
    accept = (headers or {}).get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


@bp.route("/reports/kpis", methods=["GET"])
@handles_errors
def kpi_report() -> Response:
    """KPIs of ``from``..``to`` (``YYYY-MM-DD``, report time zone), ``group_by`` agent|department|channel|
    category, ``repeat_days`` (1-30, default 7), ``format=csv`` or ``Accept: text/csv`` for CSV. Read from the
    stored daily aggregates only: days not aggregated yet are listed in ``pending``."""
    request = bp.current_request
    authenticate(request)
    params = dict(request.query_params or {})
    group_by = params.get("group_by") or None
    if group_by is not None and group_by not in report_mod.GROUP_BY:
        raise _bad("group_by", f"must be one of {sorted(report_mod.GROUP_BY)}")
    repeat_days = int_param(params, "repeat_days", report_mod.DEFAULT_REPEAT_DAYS, 1, kpis.LOOKBACK_DAYS)
    first, last = parse_range(params)
    try:
        body = kpis.report(first, last, utcnow(), group_by=group_by, repeat_days=repeat_days)
    except ValueError as exc:
        raise _bad("from", str(exc)) from exc
    if wants_csv(params, request.headers):
        return Response(body="\ufeff" + report_mod.to_csv(body), status_code=200, headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="kpis-{body["from"]}-{body["to"]}.csv"'})
    return json_response(body)


@bp.route("/reports/aggregates", methods=["POST"])
@handles_errors
def rebuild_aggregates() -> Response:
    """Queue the recomputation of the daily aggregates of closed days ``from``..``to`` (supervisors and
    admins): answers 202 at once; the work runs asynchronously (``chalicelib.background``)."""
    request = bp.current_request
    agent = authenticate(request)
    roles.ensure(agent, "rebuild_aggregates")
    body = read_json(request.raw_body, REBUILD)
    first, last = parse_range({"from": body["from"], "to": body["to"]})
    try:
        span = kpis.closed_days(first, last, utcnow())
    except ValueError as exc:
        raise _bad("from", str(exc)) from exc
    if span is None:
        return json_response({"queued": False, "from": None, "to": None, "days": 0}, status=202)
    runs = background.submit("kpi_rebuild", {"from": span[0].isoformat(), "to": span[1].isoformat()})
    return json_response({"queued": True, "from": span[0].isoformat(), "to": span[1].isoformat(),
                          "days": (span[1] - span[0]).days + 1, "runs": runs}, status=202)

"""Pure business calendars, SLA clocks and remaining-time labels (no AWS, no clock reads)."""

from chalicelib.sla.calendar import BusinessCalendar, holiday_dates
from chalicelib.sla.calendar_doc import CALENDAR_SCHEMA, load_calendar
from chalicelib.sla.clocks import (
    METRICS,
    STATES,
    MetricState,
    SlaPolicy,
    SlaTargets,
    TicketFacts,
    compute_metrics,
    iso_z,
    load_policy,
    next_deadline,
    pauses_from_history,
    to_dict,
)
from chalicelib.sla.labels import URGENCIES, duration_label, remaining_label, urgency

__all__ = [
    "CALENDAR_SCHEMA",
    "METRICS",
    "STATES",
    "URGENCIES",
    "BusinessCalendar",
    "MetricState",
    "SlaPolicy",
    "SlaTargets",
    "TicketFacts",
    "compute_metrics",
    "duration_label",
    "holiday_dates",
    "iso_z",
    "load_calendar",
    "load_policy",
    "next_deadline",
    "pauses_from_history",
    "remaining_label",
    "to_dict",
    "urgency",
]

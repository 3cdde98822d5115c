"""Import a Zendesk configuration (SLA policies, triggers, automations, schedules). PURE.

``import_all(sla=..., triggers=..., automations=..., schedules=...)`` takes the
parsed JSON of the Zendesk REST API exports (``GET /api/v2/slas/policies``,
``/api/v2/triggers``, ``/api/v2/automations``, ``/api/v2/business_hours/schedules``,
holidays embedded per schedule as ``"holidays"``) and returns an ``Import``:
the files to write (``{relative path: JSON}``: rule files, ``calendars/*.json``)
and the report, one ``Finding`` per condition, action or setting that could not
be carried over (``unmapped``) or only approximately (``approximated``), with
the reason and a JSON pointer into the export it came from. A rule with an
unmapped condition is written disabled (its meaning would change); an unmapped
action is left out.

Modules: ``schedules`` (calendars), ``conditions`` (condition and action
mapping), ``rules`` (SLA policies, triggers, automations).
"""

from chalicelib.importers.zendesk.model import Finding, Import
from chalicelib.importers.zendesk.rules import import_all

__all__ = ["Finding", "Import", "import_all"]

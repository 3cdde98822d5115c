"""Exception types. Each maps to one HTTP status in ``chalicelib.api.errors``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class HelpdeskError(Exception):
    """Base of every error the service raises on purpose."""


class ValidationFailed(HelpdeskError):
    """Input failed validation; ``errors`` lists every problem by field/pointer."""

    def __init__(self, errors: list[dict[str, Any]], message: str = "validation failed"):
        super().__init__(message)
        self.errors = errors

    @classmethod
    def from_schema_errors(cls, errors: Iterable[Any]) -> ValidationFailed:
        """Build from jsonschema ``ValidationError``s: one entry per problem, by field.

        A missing required property is reported at its own pointer, not its parent's.
        """
        out: list[dict[str, Any]] = []
        reported: set[tuple[str, ...]] = set()
        for err in errors:
            path = [str(p) for p in err.absolute_path]
            if err.validator == "required" and isinstance(err.instance, dict):
                # jsonschema reports one error per missing property, in order.
                missing = [p for p in err.validator_value if p not in err.instance]
                missing = [p for p in missing if (*path, p) not in reported][:1]
                path = path + missing
            reported.add(tuple(path))
            out.append(schema_error(path, err.message))
        out.sort(key=lambda e: e["pointer"])
        return cls(out)


def schema_error(path: list[str], message: str) -> dict[str, Any]:
    """One validation problem: ``field`` (dotted), ``pointer`` (RFC 6901) and ``message``."""
    pointer = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)
    return {"field": ".".join(path), "pointer": pointer, "message": message}


class Unauthorized(HelpdeskError):
    """The caller did not prove who they are (missing/invalid token or signature)."""


class Forbidden(HelpdeskError):
    """The caller is known but may not do this."""


class NotFound(HelpdeskError):
    """The named resource does not exist."""


class Conflict(HelpdeskError):
    """The request conflicts with the current state (claims, stale versions)."""

    def __init__(self, message: str, detail: dict[str, Any] | None = None):
        super().__init__(message)
        self.detail = detail or {}


class PreconditionFailed(Conflict):
    """``If-Match`` named a version whose sent fields someone else has changed since (412)."""


class PresendFailed(HelpdeskError):
    """Pre-send checks found problems in an outbound message (422); ``problems`` lists them."""

    def __init__(self, problems: list[dict[str, Any]]):
        super().__init__("not sent: " + "; ".join(p["message"] for p in problems))
        self.problems = problems


class UnknownChannel(NotFound):
    """No installed plugin handles the named channel."""


class ConfigError(HelpdeskError):
    """A setting, secret or rule file is missing or invalid."""

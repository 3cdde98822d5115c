"""flufl.bounce (Mailman's bounce detectors) as one more signal: which recipients a notice says failed.

The library runs 17 detectors in order (RFC 3464 DSN, Exim, Postfix, qmail,
GroupWise, Yahoo, SMTP32, ... and generic patterns) and stops at the first
that finds an address. Two behaviours of 6.0.0 are wrapped here:

- a detector that raises aborts the whole scan and is logged with a
  traceback (measured: Yale raises ``IndexError`` on a mail with an empty
  ``From``; Sina ``AttributeError`` on an encoded ``From``; 3 to 5 of the 104
  ordinary mails of the mikel-mail corpus), so each detector is run on its own
  here, its failure becomes a parse warning and the next one runs;
- it logs one INFO line per detector; its logger is kept at WARNING.

Pure: no I/O, no AWS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import Message
from typing import Any

logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

try:  # the detector list is what ``flufl.bounce.all_failures`` iterates (pinned: flufl.bounce==6.0.0)
    from flufl.bounce._scan import _DETECTORS as DETECTORS
except ImportError:  # pragma: no cover - a missing or changed library only loses this signal
    DETECTORS: list[Any] = []  # type: ignore[no-redef]


@dataclass(frozen=True)
class Detected:
    """What a flufl.bounce detector found: its name and the failed addresses (lower case)."""

    detector: str
    temporary: tuple[str, ...]
    permanent: tuple[str, ...]


def _addresses(found: Any) -> tuple[str, ...]:
    out = []
    for a in found or ():
        text = a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a)
        text = text.strip().strip("<>").lower()
        if "@" in text and len(text) < 320:
            out.append(text)
    return tuple(sorted(set(out)))


def detect(msg: Message, warnings: list[str] | None = None) -> Detected | None:
    """The first detector that finds failed recipients, or None. Never raises."""
    for detector in DETECTORS:
        try:
            temporary, permanent = detector().process(msg)
        except Exception as exc:  # noqa: BLE001 - a detector's bug must not stop the others
            if warnings is not None:
                warnings.append(f"flufl.bounce {detector.__name__} detector failed: {type(exc).__name__}")
            continue
        temp, perm = _addresses(temporary), _addresses(permanent)
        if temp or perm:
            return Detected(detector.__name__, temp, perm)
    return None

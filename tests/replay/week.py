"""A hand-checked week of history (Mon 2026-11-02 .. Sun 11-08, Tue 11-03 is 文化の日) built from
timeline events as production records them. Times are JST; the office is open 09:30-18:30."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.replay.history import Event, TicketHistory

JST = timezone(timedelta(hours=9))


def jst(day: int, hh: int, mm: int) -> datetime:
    """2026-11-<day> hh:mm JST as UTC."""
    return datetime(2026, 11, day, hh, mm, tzinfo=JST).astimezone(timezone.utc)


class Builder:
    """Events of one ticket, in production's shapes."""

    def __init__(self, number: int, at: datetime, *, vip: bool = False) -> None:
        self.number, self.events, self._n = number, [], 0
        email = f"customer{number}@example.com"
        self.ticket = {"number": number, "channel": "form", "subject": f"質問 {number}", "category": None,
                       "customer_id": f"c{number}", "customer_name": f"顧客{number}", "customer_email": email,
                       "created_at": at}
        self.customer = {"id": f"c{number}", "name": f"顧客{number}", "email": email, "vip": vip, "tags": []}
        self.status = "new"
        self.message(at)

    def _add(self, type_: str, at: datetime, actor: str, data: dict[str, Any]) -> None:
        self._n += 1
        self.events.append(Event(id=f"{self.number}-{self._n:03d}", type=type_, at=at, actor=actor, data=data))

    def message(self, at: datetime, body: str = "よろしくお願いします") -> Builder:
        self._add("message_in", at, f"customer:email:customer{self.number}@example.com",
                  {"channel": "form", "subject": self.ticket["subject"], "body_text": body,
                   "from": {"name": "顧客", "email": f"customer{self.number}@example.com"}})
        if self.status in ("pending", "solved"):
            self._status(at, "open", "system")
        return self

    def _status(self, at: datetime, to: str, actor: str) -> None:
        self._add("status_changed", at, actor, {"field": "status", "from": self.status, "to": to})
        self.status = to

    def patch(self, at: datetime, agent: str = "alice", **fields: Any) -> Builder:
        actor = f"agent:{agent}"
        for name, value in fields.items():
            if name == "status":
                continue
            self._add("priority_changed" if name == "priority" else "assigned", at, actor,
                      {"field": name, "from": None, "to": value})
        to = fields.get("status") or ("open" if self.status == "new" else None)
        if to:
            self._status(at, to, actor)
        return self

    def reply(self, at: datetime, agent: str = "alice", status: str = "open") -> Builder:
        actor = f"agent:{agent}"
        self._add("message_out", at, actor, {"body_text": "ご連絡ありがとうございます", "agent": agent,
                                             "agent_name": agent, "state": "sent", "channel": "form"})
        if status != self.status:
            self._status(at, status, actor)
        return self

    def escalate(self, at: datetime, department: str, contact: dict[str, str], due: datetime) -> Builder:
        actor = "agent:alice"
        self._add("escalated", at, actor, {"id": f"ESC{self.number}", "department": department, "contact": contact,
                                           "note": "確認お願いします", "due_at": due.isoformat(),
                                           "business_minutes": 240})
        self._add("assigned", at, actor, {"field": "department", "from": None, "to": department})
        return self

    def build(self) -> TicketHistory:
        return TicketHistory(ticket=self.ticket, customer=self.customer, events=tuple(self.events))


def week() -> list[TicketHistory]:
    """The twelve tickets (see tests/replay/test_hand_checked.py for the hand computation)."""
    suzuki = {"id": "suzuki", "name": "鈴木", "email": "suzuki.warehouse@example.com"}
    t = [
        Builder(1, jst(2, 10, 0)).patch(jst(2, 10, 1), assignee="alice").reply(jst(2, 10, 40)),
        Builder(2, jst(2, 10, 0)).patch(jst(2, 10, 1), assignee="alice").reply(jst(2, 11, 30)),
        Builder(3, jst(2, 10, 0)).patch(jst(2, 10, 1), assignee="alice").reply(jst(2, 12, 30)),
        Builder(4, jst(2, 18, 0)).patch(jst(2, 18, 1), assignee="alice").reply(jst(4, 10, 20)),
        Builder(5, jst(2, 10, 0)).patch(jst(2, 10, 1), assignee="alice").patch(jst(2, 10, 20), status="pending")
        .message(jst(2, 13, 0), "追加の情報です").reply(jst(2, 14, 0)),
        Builder(6, jst(5, 10, 0)).patch(jst(5, 10, 1), assignee="alice")
        .escalate(jst(5, 10, 5), "warehouse", suzuki, jst(5, 14, 5)).reply(jst(5, 10, 50)),
        Builder(7, jst(6, 15, 0)).patch(jst(6, 15, 1), assignee="alice").reply(jst(6, 16, 30)),
        Builder(8, jst(4, 11, 0)).patch(jst(4, 11, 1), assignee="alice").reply(jst(4, 11, 20)),
        Builder(9, jst(4, 13, 0)).patch(jst(4, 13, 1), assignee="alice").reply(jst(4, 13, 15))
        .message(jst(4, 15, 0), "もう一点").reply(jst(4, 16, 0)).patch(jst(4, 16, 5), status="solved"),
        Builder(10, jst(6, 18, 10)).patch(jst(6, 18, 11), assignee="alice").reply(jst(9, 10, 0)),
        Builder(11, jst(5, 14, 0), vip=True).reply(jst(5, 14, 40), agent="bob"),
        Builder(12, jst(4, 9, 30)).patch(jst(4, 9, 31), assignee="alice", priority="low").reply(jst(4, 17, 10)),
    ]
    return [b.build() for b in t]

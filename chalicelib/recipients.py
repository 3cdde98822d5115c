"""Who a notification goes to, and at which address for its target. Pure (agents are looked up
through an injected function).

A rule's ``to`` is a role or ``{"address": ...}``:

- ``assignee``: the assigned agent (name, email, phone from the agent record);
- ``escalation_contact``: the contact the ticket is escalated to (from the
  ticket's escalation, completed from ``rules/directory/departments.json``);
- ``department_manager``: the manager of the ticket's department;
  ``manager``: the help desk's (``support``) manager;
- ``customer``: the ticket's customer;
- ``{"address": "..."}``: a fixed address, used as is by every target (an
  email address, an E.164 phone number, a Slack channel, a webhook name or URL).

The address a role resolves to depends on the target: ``email`` the person's
``email``, ``sms`` their ``phone``, ``slack`` the person's ``slack_channel``,
else the ``slack_channel`` of the department concerned (the escalation's
department, the person's, the ticket's, then support's), else ``default``;
``webhook`` the ``default`` endpoint (the person travels in the payload),
``log`` the person's id. Any other target (a third-party plugin) uses the
person's field named like the target, e.g. ``"fax": "+81-3-..."`` in the
directory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.directory import SUPPORT, Directory

DEFAULT_ENDPOINT = "default"
AgentLookup = Callable[[str], "Mapping[str, Any] | None"]


@dataclass(frozen=True)
class Recipient:
    """A resolved recipient: the person (for templates and payloads) and the target address,
    or ``problem`` saying why there is none."""

    person: dict[str, Any] | None
    address: str | None
    problem: str | None = None


def _contact(contact: Any, directory: Directory) -> dict[str, Any] | None:
    if isinstance(contact, str):
        return directory.contact(contact) or {"id": contact, "name": contact}
    if isinstance(contact, Mapping):
        listed = directory.contact(str(contact.get("id"))) if contact.get("id") else None
        return {**(listed or {}), **contact}
    return None


def person_for(to: Any, ticket: Mapping[str, Any], directory: Directory, get_agent: AgentLookup
               ) -> dict[str, Any] | None:
    """The person a role (or fixed address) names on this ticket, or None when there is nobody."""
    if isinstance(to, Mapping):
        address = to.get("address")
        return {"id": address, "name": address, "address": address} if address else None
    if to == "assignee" and ticket.get("assignee"):
        agent = get_agent(ticket["assignee"]) or {}
        return {"id": ticket["assignee"], "name": ticket["assignee"], **agent}
    if to == "customer":
        return {"id": ticket.get("customer_id"), "name": ticket.get("customer_name") or "",
                "email": ticket.get("customer_email"), "lang": ticket.get("customer_lang")}
    if to == "escalation_contact":
        return _contact((ticket.get("escalation") or {}).get("contact"), directory)
    if to == "department_manager":
        return directory.manager(ticket.get("department"))
    if to == "manager":
        return directory.manager(None)
    return None


def _department(to: Any, person: Mapping[str, Any], ticket: Mapping[str, Any]) -> str:
    if to == "escalation_contact":
        return (ticket.get("escalation") or {}).get("department") or person.get("department") or SUPPORT
    if to == "manager":
        return SUPPORT
    if to == "assignee":
        return person.get("department") or ticket.get("department") or SUPPORT
    return ticket.get("department") or SUPPORT


def slack_channel(to: Any, person: Mapping[str, Any], ticket: Mapping[str, Any], directory: Directory) -> str:
    """The Slack channel for a role: the person's own, else their department's, else ``default``."""
    if person.get("slack_channel"):
        return str(person["slack_channel"])
    for dept in (_department(to, person, ticket), SUPPORT):
        channel = (directory.departments.get(dept) or {}).get("slack_channel")
        if channel:
            return str(channel)
    return DEFAULT_ENDPOINT


def address_for(target: str, to: Any, person: Mapping[str, Any], ticket: Mapping[str, Any],
                directory: Directory) -> str | None:
    """The address ``target`` delivers to for this person (None when they have none)."""
    if isinstance(to, Mapping):
        return person.get("address")
    field = {"email": "email", "sms": "phone"}.get(target)
    if field:
        return person.get(field) or None
    if target == "slack":
        return slack_channel(to, person, ticket, directory)
    if target == "webhook":
        return DEFAULT_ENDPOINT
    if target == "log":
        return person.get("id") or person.get("email") or None
    return person.get(target) or None


def resolve(target: str, to: Any, ticket: Mapping[str, Any], directory: Directory,
            get_agent: AgentLookup) -> Recipient:
    """Person and address for ``to`` on ``target``, or a problem a person can act on."""
    person = person_for(to, ticket, directory, get_agent)
    if person is None:
        return Recipient(None, None, f"nobody is the {to} of this ticket")
    address = address_for(target, to, person, ticket, directory)
    if not address:
        what = {"email": "email address", "sms": "phone number"}.get(target, f"{target} address")
        return Recipient(person, None, f"the {to} ({person.get('name') or person.get('id')}) has no {what}")
    return Recipient(person, str(address))

"""Addresses that are not a person: the null sender, mail-system roles, no-reply and notification senders.

Used twice: the inbound classifier (such a sender never opens a ticket) and the
outbound guard (nothing automatic is ever sent to such an address: an
auto-reply to a robot is how mail loops start).

- null: an empty address (``From: <>``, ``MAILER-DAEMON <>``, the RFC 5321 null
  reverse-path ``Return-Path: <>``) or one without a domain (``<MAILER-DAEMON>``);
- role: a mail-system mailbox (RFC 2142 ``postmaster``, ``mailer-daemon`` and
  their spellings in the wild: ``post_master``, ``post-master``, ``postmastr``,
  ``MAILER_DAEMON``, ``mailer-deamon``, ``mail.delivery.system``...), matched after
  dropping separators and allowing one typo;
- no_reply: ``no-reply``, ``noreply``, ``do-not-reply``, ``donotreply``, ``no_reply``,
  ``bounce``/``bounces`` (with VERP/SRS tags such as ``bounces+x=y``);
- machine: known notification senders (``no-reply@sns.amazonaws.com``, ``*.amazonses.com``).
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[._\-+ ]")
_ROLE_WORDS = ("postmaster", "mailerdaemon", "maildaemon", "mailerdeamon", "maildeamon", "mdaemon",
               "maildeliverysystem", "maildeliverysubsystem", "mailsystem", "mailadmin", "mailerror",
               "deliverysystem", "deliverystatus", "deliverynotification", "smtpgateway")
_NO_REPLY = re.compile(r"^(no|do[-_.]?not|dont)[-_.]?reply|^noreply|^bounces?([-+=_].*)?$|^(mailer|mail)[-_.]?bounces?",
                       re.I)
_MACHINE_DOMAINS = ("sns.amazonaws.com", "amazonses.com")
_SRS = re.compile(r"^(prvs|btv1|srs[01])[=+][^=]+[=](?P<rest>.+)$", re.I)


def _typo_of(word: str, target: str) -> bool:
    """One insertion, deletion or substitution away (``postmastr``, ``postmaser``, ``mailerdeamon``)."""
    if abs(len(word) - len(target)) > 1 or len(target) < 8:
        return word == target
    if len(word) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1:  # a swap: mailerdaemon -> mailerdeamon
            i = diffs[0]
            return word[i] == target[i + 1] and word[i + 1] == target[i]
        return len(diffs) <= 1
    short, long_ = (word, target) if len(word) < len(target) else (target, word)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def local_part(address: str | None) -> str:
    """The local part without VERP/SRS tags (``prvs=123=ndr@x`` -> ``ndr``), lower case."""
    local = (address or "").strip().strip("<>").rsplit("@", 1)[0].strip().strip('"').lower()
    match = _SRS.match(local)
    return match.group("rest") if match else local


def is_null(address: str | None) -> bool:
    """The null reverse-path or a domain-less address (``<>``, ``MAILER-DAEMON``)."""
    value = (address or "").strip().strip("<>").strip()
    return not value or "@" not in value or value.endswith("@")


def role_of(address: str | None) -> str | None:
    """``postmaster``/``mailer-daemon``-like mailbox: the normalised word, else None."""
    word = _SEPARATORS.sub("", local_part(address).replace("\\", ""))
    if not word:
        return None
    for target in _ROLE_WORDS:
        if _typo_of(word, target):
            return target
    return None


def is_no_reply(address: str | None) -> bool:
    """A no-reply or bounce-handling mailbox."""
    return bool(_NO_REPLY.match(local_part(address)))


def machine_reason(address: str | None) -> str | None:
    """Why nothing automatic may be sent to this address (None: a person's address, as far as we know)."""
    if is_null(address):
        return f"null or domain-less address {address!r}"
    role = role_of(address)
    if role:
        return f"mail-system role address ({role})"
    if is_no_reply(address):
        return "no-reply address"
    domain = str(address).rsplit("@", 1)[1].strip(">").lower()
    if any(domain == d or domain.endswith("." + d) for d in _MACHINE_DOMAINS):
        return f"notification sender at {domain}"
    return None

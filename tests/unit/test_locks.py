"""The lock files (exact versions with hashes, installed by `make install` and shipped by the package
build) match what requirements*.txt pin: edit requirements*.txt, then `make lock`."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#\\]+)", re.M)


def pins(path: str) -> dict[str, str]:
    text = (ROOT / path).read_text()
    return {re.sub(r"[-_.]+", "-", m.group(1).lower()): m.group(3) for m in PIN.finditer(text)}


@pytest.mark.parametrize("source,lock", [("requirements.txt", "requirements.lock"),
                                         ("requirements-dev.txt", "requirements-dev.lock")])
def test_every_pin_is_in_the_lock_with_its_version_and_hashes(source, lock):
    locked = pins(lock)
    wanted = pins(source) | (pins("requirements.txt") if source == "requirements-dev.txt" else {})
    stale = {name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version}
    assert not stale, f"{lock} is stale, run `make lock`: {stale}"
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().strip())
    unhashed = [e.split()[0] for e in entries if not e.startswith("#") and "--hash=sha256:" not in e]
    assert not unhashed

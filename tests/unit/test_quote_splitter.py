"""The quote splitter on real reply bodies (mail-parser-reply's corpus) and on our localised samples: the new
text equals the expected text (whitespace-normalised) for every file; and on generated mixes of quote
markers it never raises and never drops a word."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.mail.quotes import split_reply
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("no_tracebacks")

CORPUS = ROOT.parent / "shared" / "corpus" / "email" / "mail-parser-reply"
SAMPLES = ROOT / "tests" / "data" / "quote_samples"
EXPECTED = {
    "corpus": (CORPUS, json.loads((ROOT / "tests" / "data" / "quote_splits.json").read_text(encoding="utf-8"))),
    "own": (SAMPLES, json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))),
}
CASES = [(label, name) for label, (_root, exp) in EXPECTED.items() for name in exp if not name.startswith("_")]


def _norm(text: str) -> str:
    return " ".join(text.split())


def test_every_corpus_file_has_an_expected_split():
    assert sorted(p.name for p in CORPUS.glob("*.txt")) == sorted(
        n for n in EXPECTED["corpus"][1] if not n.startswith("_"))
    assert sorted(p.name for p in SAMPLES.glob("*.txt")) == sorted(
        n for n in EXPECTED["own"][1] if not n.startswith("_"))


@pytest.mark.parametrize(("label", "name"), CASES)
def test_new_text_is_the_customers_words(label, name):
    root, expected = EXPECTED[label]
    parts = split_reply((root / name).read_text(encoding="utf-8"))
    assert _norm(parts.new_text) == _norm(expected[name])


_LINES = st.sampled_from([
    "Thanks, that works.", "山田です。", "Да, спасибо.", "", " ", "> quoted line", "＞ 引用", "-- ", "--",
    "On Fri, Jan 9, 2026 at 4:00 PM Support <s@example.com> wrote:", "On Fri, Jan 9, 2026 at 4:00 PM Support",
    "<s@example.com>", "wrote:", "2026年1月9日(金) 16:00 サポート <s@example.com>:", "From: Support <s@example.com>",
    "差出人: サポート", "送信日時: 2026年1月9日", "Sent: Friday", "Subject: RE: x", "От: Поддержка", "Кому: Иван",
    "-----Original Message-----", "_" * 40, "=" * 20, "Sent from my iPhone", "iPhoneから送信", "Disclaimer",
    "CAUTION: This email originated from outside of the organization.", "Regards,", "Tel: +81 3 0000 0000",
    "09.01.2026, 16:00, \"Поддержка\" <s@example.com>:", "- a bullet", "http://example.com",
])


@given(st.lists(_LINES | st.text(max_size=40).filter(lambda s: "\n" not in s and "\r" not in s), max_size=40))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_splitting_never_raises_and_never_drops_a_word(lines):
    text = "\n".join(lines)
    if "=" in text or "\ufeff" in text or "\u200b" in text:  # quoted-printable undoing and BOMs change the text
        text = text.replace("=", "-").replace("\ufeff", "").replace("\u200b", "")
    parts = split_reply(text)
    words = Counter("".join(text.split()))
    kept = Counter("".join((parts.new_text + parts.quoted + parts.signature + parts.notice).split()))
    assert kept == words

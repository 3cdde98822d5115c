"""Pre-send checks catch what a careful colleague would."""

from __future__ import annotations

import pytest

from chalicelib.presend import Draft, PresendConfig, load_config, run_checks
from tests.conftest import ROOT

CONFIG = load_config(ROOT / "rules")


def _checks(body: str, name: str = "山田 花子", **kw) -> list[str]:
    return [p.check for p in run_checks(Draft(body=body, customer_name=name, **kw), CONFIG)]


@pytest.mark.parametrize("body", [
    "山田様\n\nご注文番号●●の件でご連絡いたします。",
    "山田様\n\n○○日に発送いたします。",
    "山田様\n\n{{ order_number }} を確認しました。",
    "山田様\n\n[[配送日]]にお届けします。",
    "XX様\n\nお問い合わせありがとうございます。",
])
def test_unfilled_placeholders_are_caught(body):
    assert "placeholder" in _checks(body)


@pytest.mark.parametrize("body", [
    "佐藤様\n\nお問い合わせありがとうございます。",
    "佐藤 太郎 様\n\nご連絡ありがとうございます。",
    "Dear Mr. Smith,\n\nThank you.",
])
def test_another_customers_name_in_the_greeting_is_caught(body):
    assert "wrong_customer_name" in _checks(body, name="山田 花子" if "Smith" not in body else "Hanako Yamada")


@pytest.mark.parametrize("body", [
    "山田様\n\nお問い合わせありがとうございます。",
    "山田 花子 様\n\nお問い合わせありがとうございます。",
    "花子さん\n\nありがとうございます。",
    "お問い合わせありがとうございます。\n山田様のご注文について",
])
def test_the_right_customer_passes(body):
    assert _checks(body) == []


def test_english_greeting_with_the_right_name_passes():
    assert _checks("Dear Hanako,\n\nThanks.", name="Hanako Yamada") == []


def test_recipient_not_the_customer_and_warning_words():
    draft = Draft(body="山田様\n\n絶対に届きます。", customer_name="山田", customer_addresses=("h@example.jp",),
                  to="other@example.com")
    assert [p.check for p in run_checks(draft, CONFIG)] == ["wrong_recipient", "warning_word"]


def test_defaults_work_without_a_config_file():
    assert [p.check for p in run_checks(Draft(body="●●様", customer_name="山田"), PresendConfig())] == [
        "placeholder"]

"""Raw mail parsing: Japanese charsets, encoded words, HTML-only mail, attachments, malformed mail."""

from __future__ import annotations

import base64

import pytest

from chalicelib.mail.charsets import decode_text, jis_to_text
from chalicelib.mail.headers import addresses, decode_value, message_ids
from chalicelib.mail.html import html_to_text
from chalicelib.mail.parse import parse_mail

pytestmark = pytest.mark.usefixtures("no_tracebacks")  # the mail suite logs no exception


def _mail(body: bytes, ctype: str = "text/plain; charset=utf-8", cte: str = "8bit", extra: str = "") -> bytes:
    head = (f"From: Hanako <hanako@example.jp>\r\nTo: support@example.com\r\nSubject: test\r\n{extra}"
            f"Message-ID: <t-1@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: {ctype}\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n\r\n")
    return head.encode() + body


@pytest.mark.parametrize(("text", "charset"), [
    ("①髙橋様の注文ｱｲｳ", "Shift_JIS"),  # Windows-31J extensions under a Shift_JIS label
    ("お問い合わせ", "EUC-JP"),
    ("お問い合わせ", "ISO-2022-JP"),
    ("お問い合わせ", "UTF-8"),
])
def test_japanese_charsets_decode_without_mojibake(text, charset):
    codec = {"Shift_JIS": "cp932", "EUC-JP": "euc_jp", "ISO-2022-JP": "iso2022_jp", "UTF-8": "utf-8"}[charset]
    decoded, warning = decode_text(text.encode(codec), charset)
    assert decoded == text and warning is None


def test_iso_2022_jp_with_windows_characters_reads_through_cp932():
    data = "注文".encode("iso2022_jp") + b"\x1b$B-!-\"\x1b(B" + b" ok"  # ①② (NEC row 13)
    assert decode_text(data, "iso-2022-jp") == ("注文①② ok", None)
    assert jis_to_text(b"\x1b(I123\x1b(B") == "ｱｲｳ"  # half-width katakana


def test_wrong_or_unknown_charset_falls_back_and_says_so():
    text, warning = decode_text("日本語です".encode(), "us-ascii")
    assert text == "日本語です"
    text, warning = decode_text("Formação".encode("latin-1"), "x-unknown")
    assert text == "Formação" and "did not fit" in warning
    text, warning = decode_text(b"\xff\xfe broken", "utf-8")
    assert "\ufffd" not in text or warning


def test_headers_encoded_words_raw_bytes_addresses_and_ids():
    assert decode_value("=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=") == "テストテスト"
    assert decode_value("S\udcc3\udca4ying") == "Säying"
    assert decode_value("=?UTF-8?B?" + base64.b64encode("注文の件".encode()).decode() + "?=") == "注文の件"
    assert addresses("=?UTF-8?B?44G/44GR44KL?= <A@Example.JP>, b@c.jp") == [("みける", "a@example.jp"), ("", "b@c.jp")]
    assert addresses("a@x.jp b@x.jp") == [("", "a@x.jp"), ("", "b@x.jp")]
    assert message_ids("<a@b>\r\n <c@d> <a@b>") == ("<a@b>", "<c@d>")
    assert message_ids("someone@example.com") == ("<someone@example.com>",)


def test_html_only_mail_becomes_readable_text_with_quotes_marked():
    html = ("<html><head><style>p{color:red}</style></head><body><p>山田様&nbsp;こんにちは</p>"
            "<div>注文<b>A-1</b><br>確認します。</div><ul><li>一</li><li>二</li></ul>"
            "<a href='https://ex.com/x'>詳細</a><blockquote>前のメール</blockquote></body></html>")
    assert html_to_text(html) == ("山田様 こんにちは\n\n注文A-1\n確認します。\n\n- 一\n- 二\n"
                                  "詳細 (https://ex.com/x)\n> 前のメール")
    mail = parse_mail(_mail(html.encode(), "text/html; charset=utf-8"))
    assert mail.text_from_html and mail.text.startswith("山田様 こんにちは")


def test_multipart_quoted_printable_base64_and_attachment_metadata():
    body = (
        "--b\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
        "--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "=E6=B3=A8=E6=96=87\r\n"
        "--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--a--\r\n"
        "--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename*=UTF-8''%E5%86%99%E7%9C%9F.png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"\x89PNG1234").decode() + "\r\n--b--\r\n")
    mail = parse_mail(_mail(body.encode(), 'multipart/mixed; boundary="b"', "7bit"))
    assert mail.text == "注文"
    assert [a.to_dict() for a in mail.attachments] == [
        {"filename": "写真.png", "content_type": "image/png", "size": 8, "part": "2", "content_id": None,
         "inline": False}]


def test_malformed_mail_is_read_with_warnings_not_rejected():
    broken = b"Subject: =?utf-8?B?broken\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\nno parts here"
    mail = parse_mail(broken)
    assert mail.from_addr == "" and "no readable From address" in mail.warnings
    assert "no parts here" in mail.text
    assert parse_mail(b"").text == ""


def test_carrier_phone_shift_jis_mail_reads():
    mail = parse_mail(_mail("あいうえお\r\n①番".encode("cp932"), 'text/plain; charset="Shift_JIS"'))
    assert mail.text == "あいうえお\n①番"


def test_the_whole_corpus_parses_and_classifies_without_raising():
    from collections import Counter

    from chalicelib.mail.classify import classify
    from tests.conftest import ROOT

    files = sorted((ROOT.parent / "shared" / "corpus" / "email").rglob("*.eml"))
    assert len(files) >= 100
    kinds = Counter(classify(parse_mail(f.read_bytes())).kind for f in files)
    # the 6 reports and the junk mail, and two relayed notifications from no-reply senders (eBay, a tracker)
    assert kinds == {"message": len(files) - 9, "bounce": 4, "delay": 2, "bulk": 1, "notification": 2}

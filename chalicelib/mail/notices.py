"""The words of notices that are not ``multipart/report``: ISPs', carriers', list managers'.

Written from the formats' public descriptions, for the class rather than one
sample:

- English MTA and ISP notices (sendmail, Postfix "This is the mail system at
  host", Exim "This message was created automatically by mail delivery
  software", qmail "I'm afraid I wasn't able to deliver", Exchange/Outlook
  "Delivery has failed to these recipients", Verizon/AOL/Yahoo plain-text
  "could not be delivered", antivirus gateways);
- Japanese notices, as carriers and Japanese ISPs send them (au/KDDI
  「メールエラー通知」 and "Mail System Error - Returned Mail", docomo and SoftBank
  「送信できませんでした」/「宛先不明」, 「配信エラー」, 「配送エラー」, 「不達」, 「返送」)
  in ISO-2022-JP or Shift_JIS (decoded before they get here);
- a few other languages' subjects (German, French, Spanish, Dutch, Russian,
  Chinese, Korean);
- mailing-list managers' error and moderation notices (fml, Mailman,
  Majordomo, LISTSERV, ezmlm, Sympa, Google Groups).

A word list alone never makes a mail automatic (a customer may write "my
mail could not be delivered"); the classifier combines these with structure
and sender signals, in the order its docstring gives.
"""

from __future__ import annotations

import re

BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|returning message|delivery (status )?notification|failure notice|"
    r"delivery (failure|failed)|mail delivery (failed|failure|error|warning)|could not be delivered|"
    r"non[- ]?deliver|message not delivered|mail system error|delivery final failure|message (was )?rejected|"
    r"delivery (has been )?delayed|delayed mail|warning: could not send|mail error|delivery error|nondeliverable|"
    r"unzustellbar|nicht zustellbar|übermittlungsstatus|non remis|non distribué|échec de (la )?remise|"
    r"no se (pudo|puede) entregar|onbestelbaar|не доставлено|недоставленное|не удалось доставить|"
    r"退信|投递失败|发送失败|메일 전송 실패|전달 실패|"
    r"メールエラー|エラー通知|配信エラー|配送エラー|送信エラー|配信不能|配送不能|宛先不明|メール不達|不達メール|"
    r"配信失敗|送信失敗|返送されたメール|メール.{0,6}返送|配信できません|エラーメール|Returned Mail",
    re.I)
BOUNCE_BODY = re.compile(
    r"this message was created automatically by mail delivery software|this is the mail system at host|"
    r"i'?m afraid i wasn'?t able to deliver|this is the qmail-send program|"
    r"automatically generated delivery status notification|delivery to the following recipients? "
    r"(failed|has been delayed)|delivery has failed to these recipients|the following addresses had "
    r"(permanent fatal errors|delivery problems)|could not be delivered to (one or more|the following)|"
    r"your (e-?mail|message|mail)[^.\n]{0,80}(could not|cannot|can't|was not|wasn't|has not been|did not) "
    r"(be )?(deliver|reach|sent)|each of the following recipients was rejected|the user\(s\) account is|"
    r"unknown (user|recipient|local part)|(user|mailbox|recipient|address) (unknown|not found|does not exist|"
    r"unavailable|is full|is disabled)|over (the )?quota|mailbox (is )?full|unrouteable address|"
    r"host (or domain name )?(unknown|not found)|permanent (error|failure)|delivery (attempts? )?"
    r"(will continue|has been delayed)|still (undelivered|could not be delivered)|"
    r"original message (follows|is attached)|returned message|rejected your message|"
    r"送信できませんでした|配信できませんでした|配送できませんでした|届けることができませんでした|"
    r"お届けできませんでした|送信に失敗|配信に失敗|宛先(の)?(メール)?アドレスが(見つかりません|存在しません|誤って)|"
    r"存在しない(メール)?アドレス|受信拒否|受け取りを拒否|容量(を|が)(超|オーバー)|"
    r"以下の(宛先|アドレス|メールアドレス)[^\n]{0,30}(エラー|送信|配信|届)",
    re.I)
DELAY_WORDS = re.compile(
    r"delayed|will (continue|retry|keep) (trying|to try)|not yet been delivered|still (undelivered|trying)|"
    r"temporar(y|ily) (failure|problem|unavailable)|delivery warning|遅延|再送を試み", re.I)
LIST_HEADERS = ("x-ml-name", "x-mlserver", "x-ml-info", "x-mailman-version", "x-listserver", "x-lsv-listid",
                "x-ezmlm-version", "mailing-list", "x-list-administrivia", "x-google-group-id", "x-sympa-to")
LIST_SENDER = re.compile(r"(-owner|-request|-admin|-bounces?|owner-|^majordomo|^listserv|^sympa|^fml|^ezmlm|"
                         r"^mailman)", re.I)
LIST_NOTICE_SUBJECT = re.compile(
    r"fml (system )?(error|command)|awaits moderator approval|requires (your )?approval|post(ing)? (held|"
    r"rejected)|not a member|you are not (allowed|subscribed)|non-?member|majordomo results|listserv|"
    r"mailing list (error|removal|notice)|your message to .{1,80} (was rejected|has been rejected)|"
    r"moderation|メーリングリスト.{0,10}(エラー|拒否|承認)", re.I)
SNS_SUBJECT = re.compile(r"^\s*AWS Notification( Message)?\b", re.I)
FORWARD_SEPARATOR = re.compile(r"^\s*-{2,}\s*(Forwarded message|転送メッセージ|Original Message|元のメッセージ)"
                               r"\s*-{2,}\s*$", re.I | re.M)


def bounce_subject(subject: str) -> bool:
    """A subject in the words of a delivery-failure notice."""
    return bool(BOUNCE_SUBJECT.search(subject or ""))


def bounce_body(text: str, limit: int = 6000) -> bool:
    """Text (its first ``limit`` characters) in the words of a delivery-failure notice."""
    return bool(BOUNCE_BODY.search((text or "")[:limit]))


def delay_words(text: str, limit: int = 3000) -> bool:
    """Words of a delay warning (the message is still being retried)."""
    return bool(DELAY_WORDS.search((text or "")[:limit]))


_ADDRESS = re.compile(r"<?([A-Za-z0-9._%+'=-]{1,64}@[A-Za-z0-9.-]{1,200}\.[A-Za-z]{2,24})>?")
_HEADER_LINE = re.compile(r"^[ \t>]*(From|To|Cc|Reply-To|Return-Path|Sender|Message-ID|References|In-Reply-To|"
                          r"Received)\s*:", re.I)
_END_OF_NOTICE = re.compile(r"^\s*(-{20,}|={20,}|_{20,}|.*(original message|returned message|元のメッセージ|"
                            r"送信したメール|返送|以下、?送信).*)$", re.I)


def text_recipients(text: str, exclude: tuple[str, ...] = (), limit: int = 5) -> tuple[str, ...]:
    """Addresses a plain-text notice names as failed: those in its own lines, before the returned
    original (quoted header lines and the original's text are skipped)."""
    found: list[str] = []
    for line in (text or "")[:4000].splitlines():
        if _END_OF_NOTICE.match(line):
            break
        if _HEADER_LINE.match(line):
            continue
        for match in _ADDRESS.finditer(line):
            address = match.group(1).lower().strip(".")
            if address not in exclude and address not in found:
                found.append(address)
    return tuple(found[:limit])

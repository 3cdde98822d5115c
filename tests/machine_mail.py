"""Machine mail of every class the classifier must catch, built from the formats' public descriptions.

Each builder makes one member of a class with its variable parts as arguments,
so tests (and hypothesis) can vary sender spelling, charset, wording and
structure: build for the class, not the file. Raw bytes, CRLF, as an MTA
delivers them.
"""

from __future__ import annotations

from email.header import Header

OUR_ID = "<0106018d-ours@ap-northeast-1.amazonses.com>"
SUPPORT = "support@example.com"


def _encode_header(text: str, charset: str) -> str:
    """Encoded words for a non-ASCII value; of an address header only the display name is encoded."""
    if text.isascii():
        return text
    name, sep, rest = text.partition(" <")
    if sep and rest.isascii():
        return f"{Header(name, charset).encode()} <{rest}"
    return Header(text, charset).encode()


def raw_mail(headers: list[tuple[str, str]], body: str = "", charset: str = "us-ascii",
             content_type: str = "text/plain") -> bytes:
    """A single-part mail; non-ASCII header values become encoded words in ``charset``."""
    lines = [f"{name}: {_encode_header(value, charset)}" for name, value in headers]
    lines += ["MIME-Version: 1.0", f'Content-Type: {content_type}; charset="{charset}"',
              "Content-Transfer-Encoding: " + ("7bit" if charset.lower() in ("us-ascii", "iso-2022-jp") else "8bit")]
    head = "\r\n".join(lines).encode("ascii")
    return head + b"\r\n\r\n" + body.replace("\n", "\r\n").encode(_codec(charset))


def _codec(charset: str) -> str:
    return {"iso-2022-jp": "iso2022_jp", "shift_jis": "cp932", "us-ascii": "ascii"}.get(charset.lower(), charset)


def multipart(headers: list[tuple[str, str]], parts: list[tuple[str, str]], subtype: str = "mixed",
              params: str = "", boundary: str = "BOUND") -> bytes:
    """A multipart mail: ``parts`` are (content type line, body) pairs."""
    lines = [f"{name}: {_encode_header(value, 'utf-8')}" for name, value in headers]
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/{subtype}; boundary="{boundary}"{params}']
    body = ["This is a MIME-encapsulated message.", ""]
    for ctype, text in parts:
        body += [f"--{boundary}", f"Content-Type: {ctype}", "", text.replace("\r\n", "\n")]
    body += [f"--{boundary}--", ""]
    return ("\n".join(lines) + "\n\n" + "\n".join(body)).replace("\n", "\r\n").encode("utf-8")


def original_headers(message_id: str = OUR_ID, to: str = "hanako@ezweb.ne.jp") -> str:
    """The headers of our reply as a report returns them."""
    return (f"From: support@example.com\nTo: {to}\nSubject: [#1] Re: order\n"
            f"Date: Tue, 13 Jan 2026 10:00:00 +0900\nMessage-ID: {message_id}\n")


def base_headers(sender: str, subject: str, message_id: str = "<notice-1@mx.example.net>",
                 extra: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """From, To, Subject, Date, Message-ID (+ ``extra``)."""
    return [("From", sender), ("To", SUPPORT), ("Subject", subject), ("Date", "Tue, 13 Jan 2026 10:05:00 +0900"),
            ("Message-ID", message_id), *(extra or [])]


# --- null and role senders --------------------------------------------------------------------------------

NULL_SENDERS = ("MAILER-DAEMON <>", "<MAILER-DAEMON>", "<>", '"Mail Delivery System" <>', "MAILER-DAEMON",
                "Jetmail System <>")
ROLE_SENDERS = ("postmaster@example.net", "post_master@example.net", "Post-Master@example.net",
                "postmastr@example.net", "MAILER_DAEMON@mx.example.net", "mailer-deamon@mx.example.net",
                "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "mail.delivery.system@example.net",
                "prvs=1234abcd=postmaster@example.net")


def null_sender_notice(sender: str, subject: str = "failure notice") -> bytes:
    """A plain notice from the null sender (or with a domain-less From)."""
    return raw_mail(base_headers(sender, subject), "Sorry, we were unable to deliver your message.\n")


def null_return_path(subject: str = "Re: your inquiry") -> bytes:
    """An innocent-looking mail whose envelope sender is the null reverse-path."""
    return raw_mail([("Return-Path", "<>"), *base_headers("Helpdesk Robot <robot@example.net>", subject)],
                    "Thank you. This mailbox is not monitored.\n")


def role_notice(sender: str, subject: str = "Returned mail: see transcript for details") -> bytes:
    """A plain bounce from a role mailbox, quoting our headers."""
    body = ("The original message was received at Tue, 13 Jan 2026 10:00:00 +0900\n\n"
            "   ----- The following addresses had permanent fatal errors -----\n<hanako@example.jp>\n\n"
            "   ----- Transcript of session follows -----\n550 5.1.1 <hanako@example.jp>... User unknown\n\n"
            "   ----- Original message follows -----\n" + original_headers(to="hanako@example.jp"))
    return raw_mail(base_headers(sender, subject), body)


# --- Japanese carriers' notices (not multipart/report) -----------------------------------------------------

CARRIER_NOTICES = {
    # au/KDDI (EZweb): English subject, fixed phrases, the original after a line of 50 dashes
    "au-ezweb": ("postmaster@ezweb.ne.jp", "Mail System Error - Returned Mail",
                 "The user(s) account is disabled.\n\n<{rcpt}>: 550 user unknown\n\n" + "-" * 50 + "\n{orig}"),
    # au (au.com) Japanese notice: 「メールエラー通知」
    "au-ja": ("au Mail System <mail-system@au.com>", "メールエラー通知",
              "お客様が送信されたメールは、以下の宛先に配信できませんでした。\n\n宛先: {rcpt}\n"
              "理由: 宛先のメールアドレスが見つかりません。\n\n---- 送信したメール ----\n{orig}"),
    # docomo: Japanese notice of a refused delivery
    "docomo": ("Mail Delivery Subsystem <MAILER-DAEMON@docomo.ne.jp>", "送信エラー",
               "このメールは、以下のアドレスに送信できませんでした。\n{rcpt}\n\n"
               "受信者の設定により受信拒否されました。\n\n------ 元のメッセージ ------\n{orig}"),
    # SoftBank: Japanese notice, English subject
    "softbank": ("Mail Delivery System <MAILER-DAEMON@softbank.ne.jp>", "Undelivered Mail Returned to Sender",
                 "以下の宛先へのメールは配信できませんでした。\n<{rcpt}>: 存在しないメールアドレスです\n\n"
                 "--- 以下、送信されたメールのヘッダ ---\n{orig}"),
    # a Japanese ISP's notice from a non-role system mailbox, subject only in Japanese
    "isp-ja": ("メール配信システム <mail-error@isp.example.ne.jp>", "【配信エラー】メールをお届けできませんでした",
               "下記の宛先へメールをお届けできませんでした。\n\n  {rcpt}\n\n容量が超過しています。\n\n"
               + "=" * 30 + "\n{orig}"),
}


def carrier_notice(name: str, charset: str = "iso-2022-jp", rcpt: str = "hanako@ezweb.ne.jp",
                   message_id: str = OUR_ID) -> bytes:
    """One of the carriers' plain-text notices in ``charset`` (ISO-2022-JP or Shift_JIS)."""
    sender, subject, body = CARRIER_NOTICES[name]
    text = body.format(rcpt=rcpt, orig=original_headers(message_id, rcpt))
    return raw_mail(base_headers(sender, subject, "<err-1@mx.carrier.example>"), text, charset)


# --- ISPs' plain-text notices and antivirus gateways -------------------------------------------------------

def isp_notice(sender: str = "Verizon Postmaster <care@verizon.net>",
               subject: str = "Undeliverable: [#1] Re: order") -> bytes:
    """A plain-text ISP notice from an ordinary-looking mailbox, with the original headers quoted."""
    body = ("This is an automatically generated Delivery Status Notification.\n\n"
            "Your message could not be delivered to the following recipients:\n\n    kenji@verizon.net\n\n"
            "Reason: mailbox unavailable\n\n------ Original message headers ------\n"
            + original_headers(to="kenji@verizon.net"))
    return raw_mail(base_headers(sender, subject), body)


# --- mailing-list managers -------------------------------------------------------------------------------

def fml_error(subject: str = "fml system error message") -> bytes:
    """fml's error notice to a poster who is not a member."""
    headers = base_headers("test-ml-admin@lists.example.jp", subject, extra=[
        ("X-ML-Name", "test-ml"), ("X-MLServer", "fml [fml 4.0.3 release]"), ("X-ML-Info", "If you have a "
                                                                                            "question, mail to")])
    return raw_mail(headers, "Your mail was rejected: you are not a member of this list.\n\n" + original_headers())


def mailman_moderation() -> bytes:
    """Mailman holding a post for approval."""
    headers = base_headers("example-list-owner@lists.example.org",
                           "Your message to Example-list awaits moderator approval",
                           extra=[("X-Mailman-Version", "2.1.39"), ("Precedence", "bulk"),
                                  ("List-Id", "<example-list.lists.example.org>")])
    return raw_mail(headers, "Your mail to 'Example-list' with the subject\n\n    order\n\nIs being held until "
                             "the list moderator can review it for approval.\n")


# --- reports with unusual structure ------------------------------------------------------------------------

def report_without_type() -> bytes:
    """``multipart/report`` with no ``report-type`` parameter."""
    return multipart(base_headers("Mail Administrator <mailadmin@example.net>", "Delivery failure"), [
        ("text/plain", "Your message could not be delivered."),
        ("text/rfc822-headers", original_headers())], subtype="report")


def dsn(original: tuple[str, str] | None = None, report_fields: str = "",
        sender: str = "MAILER-DAEMON@mx.example.net") -> bytes:
    """A standard DSN; ``original`` is the (content type, text) of the returned part, if any."""
    parts = [("text/plain", "Delivery to the following recipient failed permanently."),
             ("message/delivery-status", f"Reporting-MTA: dns; mx.example.net\n{report_fields}\n"
                                         "Final-Recipient: rfc822; hanako@example.jp\nAction: failed\n"
                                         "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n")]
    if original:
        parts.append(original)
    return multipart(base_headers(sender, "Undelivered Mail Returned to Sender"), parts, subtype="report",
                     params="; report-type=delivery-status")


def forwarded_bounce(own_words: str = "") -> bytes:
    """A person's mailbox forwarding a bounce it received, as an attachment."""
    inner = dsn(("text/rfc822-headers", original_headers())).decode()
    parts = [("text/plain", own_words or ""), ("message/rfc822", inner)]
    return multipart(base_headers("Taro <taro@example.org>", "Fwd: Undelivered Mail Returned to Sender"), parts,
                     boundary="OUTER")


def arf_in_mixed() -> bytes:
    """An ARF abuse report sent as ``multipart/mixed`` (report-type missing, as some providers do)."""
    return multipart(base_headers("Abuse Desk <abuse@isp.example.net>", "Abuse report"), [
        ("text/plain", "This is an email abuse report for an email message received from IP 192.0.2.1."),
        ("message/feedback-report", "Feedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n"
                                    "Original-Rcpt-To: <hanako@example.jp>\n"),
        ("text/rfc822-headers", original_headers())])


def sns_by_mail() -> bytes:
    """An Amazon SNS notification delivered to an email subscription."""
    return raw_mail(base_headers("AWS Notifications <no-reply@sns.amazonaws.com>", "AWS Notification Message"),
                    '{"notificationType":"Bounce","mail":{"messageId":"0106"}}\n\n--\nIf you wish to stop '
                    "receiving notifications from this topic, please click or visit the link below.\n")


# --- people, for the opposite check ------------------------------------------------------------------------

HUMAN_LOOKALIKES = (
    ("山田 花子 <hanako@example.jp>", "メールが送信できません", "昨日から御社あてのメールが送信できませんでした。\n"
                                                              "宛先のメールアドレスが見つかりませんと出ます。"),
    ("Kenji <kenji@example.com>", "Order not delivered", "My order A-1001 was not delivered. The courier says "
                                                         "the address was unknown. Please help."),
    ("Post Office Ltd <info@postoffice.example>", "Returned parcel", "A parcel you sent was returned to us."),
    ("Maria <maria@example.es>", "Fwd: Undelivered Mail Returned to Sender",
     "Hello, I tried to write to your sales team and got the error below. Could you tell me the right "
     "address? I need an invoice for order A-2002 before Friday, and my colleague also could not reach "
     "you. Thank you very much for your help.\n\n---------- Forwarded message ----------\n"
     "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nDate: Tue, 13 Jan 2026\n"
     "Subject: Delivery Status Notification (Failure)\n\nAddress not found"),
)

"""Japanese mobile-carrier mail domains (キャリアメール).

Carrier mailboxes commonly refuse mail from PCs and unknown domains unless the
customer allowed the sender's domain, and carrier phones often drop reply
headers. The help desk tags such tickets and warns agents before sending.

Sources: the carriers' own domain lists as repeated in Japanese bulk-mail
services' documentation (NTT docomo, au/KDDI incl. UQ mobile, SoftBank incl.
Y!mobile, Disney Mobile and the legacy Vodafone/J-PHONE domains, WILLCOM,
EMOBILE, Rakuten Mobile 楽メール). Matching is exact or on a subdomain
(``xx.ezweb.ne.jp``, ``d.vodafone.ne.jp``, ``wm.pdx.ne.jp``).
"""

from __future__ import annotations

CARRIER_DOMAINS: dict[str, str] = {
    "docomo.ne.jp": "docomo",
    "ezweb.ne.jp": "au",
    "au.com": "au",
    "biz.au.com": "au",
    "uqmobile.jp": "au",  # UQ mobile (KDDI)
    "softbank.ne.jp": "softbank",
    "i.softbank.jp": "softbank",
    "disney.ne.jp": "softbank",
    "vodafone.ne.jp": "softbank",  # legacy: d./h./t./c./k./r./n./s./q.vodafone.ne.jp
    "jp-d.ne.jp": "softbank", "jp-h.ne.jp": "softbank", "jp-t.ne.jp": "softbank", "jp-c.ne.jp": "softbank",
    "jp-k.ne.jp": "softbank", "jp-r.ne.jp": "softbank", "jp-n.ne.jp": "softbank", "jp-s.ne.jp": "softbank",
    "jp-q.ne.jp": "softbank",  # legacy J-PHONE
    "ymobile.ne.jp": "ymobile",
    "y-mobile.ne.jp": "ymobile",
    "emobile.ne.jp": "ymobile",
    "emnet.ne.jp": "ymobile",
    "willcom.com": "willcom",
    "pdx.ne.jp": "willcom",  # di./dj./dk./wm.pdx.ne.jp
    "rakumail.jp": "rakuten",  # 楽メール (Rakuten Mobile)
}


def carrier_of(address: str | None) -> str | None:
    """The carrier (``docomo``, ``au``, ``softbank``, ``ymobile``, ``willcom``, ``rakuten``) or None."""
    if not address or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].strip().strip(">").rstrip(".").lower()
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        found = CARRIER_DOMAINS.get(".".join(parts[i:]))
        if found:
            return found
    return None


def is_carrier_address(address: str | None) -> bool:
    """Is this a Japanese mobile-carrier mailbox (mail from a PC may be refused)?"""
    return carrier_of(address) is not None

"""Buyer data protection (domain-rules.md §7): what the normalisers may store about a buyer.

Phones, names and street addresses are stored only masked; repeat buyers and same-address
orders are recognised through ``stable_hash``, a keyed one-way hash whose key belongs to the
deployment (passed in by the caller, never a constant here), so a leaked table cannot be
reversed by hashing a phone book. ``mask_text`` finds phone numbers, e-mail addresses and
street addresses inside free text (buyer remarks such as "改发 13812345678 文三路100号")
before the text is stored or shown.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re

#: what a masked span is replaced by; a fixed width so the length does not leak either
MASK = "****"
#: PII the marketplace encrypted (PDD, Douyin): kept neither in clear nor as ciphertext
CIPHERTEXT_MARK = "[encrypted]"

_DIGIT = re.compile(r"\d")
#: a Chinese mobile (optionally +86), or an international / grouped number of 7–15 digits
#: (ASCII look-behind: a Chinese character right before a number is not part of a word)
_PHONE_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?!\d)"
    r"|(?<![A-Za-z0-9+])\+?\(?\d[\d ().-]{5,}\d(?:\s*(?:ext\.?|x)\s*\d+)?(?!\d)"
)
#: an e-mail address: the local part is hidden, the domain stays ("b****@example.com")
_EMAIL_IN_TEXT = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*"
                            r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})(?![\w-])")
#: phones as a log line or an error message shows them, matched strictly so that order ids and
#: amounts stay readable: a CN mobile, an international "+" number, a CN landline with its code
_STRICT_PHONE = re.compile(
    r"(?<![\d*])(?:\+?86[ -]?)?1[3-9]\d{9}(?!\d)"
    r"|\+\d{1,3}[\s-]?\(?\d{1,4}\)?(?:[\s-]?\d{2,4}){2,4}(?!\d)"
    r"|(?<![\d*])0\d{2,3}-\d{7,8}(?!\d)"
)
#: a street with its house number: Chinese "文三路100号(3幢201室)" (the street name stays, the
#: number and what follows it are hidden) or English "1200 Main St" (the number is hidden)
_CN_STREET_IN_TEXT = re.compile(r"([\u4e00-\u9fff]{1,12}(?:路|街|道|巷|弄|胡同|大道))\s*\d{1,5}\s*(?:号|號)"
                                r"(?:\s*[\dA-Za-z-]{1,6}\s*(?:幢|栋|棟|座|单元|單元|室|楼|樓|层|層|号|號))*")
_EN_STREET_IN_TEXT = re.compile(r"(?<![\w*])\d{1,5}(?:-\d{1,5})?( (?:[A-Z][a-z]+ ){1,3}"
                                r"(?:St|Ave|Dr|Ln|Rd|Blvd|Ct|Pl|Way|Street|Avenue|Drive|Lane|Road|Boulevard)\b\.?)")
_DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b")
_CN_REGION = re.compile(r"^(.+?(?:省|自治区|市|特别行政区))?(.+?(?:市|自治州|地区|盟))?(.+?(?:区|县|旗|市))?")


def mask_phone(phone: str | None, visible_prefix: int = 3, visible_suffix: int = 4) -> str | None:
    """"13812345678" → "138****5678": every digit except the first and last few is hidden.

    Separators and a leading "+" are kept so the shape stays recognisable; numbers too short
    to show both ends keep only their last two digits.
    """
    if not phone:
        return None
    if "*" in phone:  # already masked by the marketplace (JD "139****2222"): keep its mask
        return phone
    digits = _DIGIT.findall(phone)
    if len(digits) < visible_prefix + visible_suffix + 2:
        visible_prefix, visible_suffix = 0, min(2, len(digits))
    keep_until, keep_from = visible_prefix, len(digits) - visible_suffix
    out, seen, masking = [], 0, False
    for char in phone:
        if char.isdigit():
            if keep_until <= seen < keep_from:
                if not masking:
                    out.append(MASK)
                    masking = True
            else:
                out.append(char)
                masking = False
            seen += 1
        elif not masking or char not in " -().":
            out.append(char)
            masking = False
    return "".join(out)


def mask_name(name: str | None) -> str | None:
    """"张三丰" → "张**", "Bob Norman" → "B** N*****": the first letter of each word stays."""
    if not name:
        return None
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def split_cn_address(full_address: str) -> tuple[str, str]:
    """"浙江省杭州市西湖区文三路100号" → ("浙江省杭州市西湖区", "文三路100号")."""
    match = _CN_REGION.match(full_address.strip())
    region = match.group(0) if match else ""
    return region, full_address.strip()[len(region):]


def mask_address(street: str | None, province: str | None = None, city: str | None = None,
                 district: str | None = None) -> str | None:
    """Keep province, city and district (needed for routing and reports); hide the street.

    ``street`` may be the street part alone or a full Chinese address that repeats the
    region ("广东省深圳市南山区科技园…"): a repeated region prefix is kept, the rest masked.
    """
    region = [part for part in (province, city, district) if part]
    if street:
        prefix, rest = split_cn_address(street) if not region else ("", street)
        for part in region:  # the full address usually starts with the region fields again
            if rest.startswith(part):
                rest = rest[len(part):]
        region = region or ([prefix] if prefix else [])
        if rest.strip():
            region.append(MASK)
    if not region:
        return None
    joiner = "" if any("\u4e00" <= ch <= "\u9fff" for ch in "".join(region)) else ", "
    return joiner.join(region)


def stable_hash(value: str | None, key: bytes | str) -> str | None:
    """Keyed one-way hash (HMAC-SHA256, 32 hex) of a normalised value; equal inputs match.

    Normalisation (trim, lower case, collapse spaces) makes "Bob@x.com " and "bob@x.com"
    the same buyer. The key must come from the deployment's secrets.
    """
    if value is None:
        return None
    normalised = " ".join(str(value).split()).lower()
    if not normalised:
        return None
    if not key:
        raise ValueError("stable_hash needs a non-empty key (the deployment's PII hash key)")
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(key_bytes, normalised.encode(), hashlib.sha256).hexdigest()[:32]


def _mask_match(match: re.Match) -> str:
    candidate = match.group(0)
    if _DATE_LIKE.match(candidate):
        return candidate
    digit_count = len(_DIGIT.findall(candidate))
    # without a "+" a phone has >= 9 digits: dates ("2026-11-11") and short codes stay readable
    least = 7 if candidate.startswith("+") else 9
    return mask_phone(candidate) if least <= digit_count <= 20 else candidate


def _mask_emails_and_streets(text: str) -> str:
    text = _EMAIL_IN_TEXT.sub(lambda m: f"{m.group(1)}{MASK}@{m.group(2)}", text)
    text = _CN_STREET_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)
    return _EN_STREET_IN_TEXT.sub(lambda m: MASK + m.group(1), text)


def mask_contacts(text: str) -> str:
    """A log line or error message with e-mails, street addresses and phones (matched
    strictly: ids and amounts stay readable) masked."""
    text = _mask_emails_and_streets(text)
    return _STRICT_PHONE.sub(lambda m: mask_phone(m.group(0)) or MASK, text)


def mask_text(text: str | None) -> str | None:
    """Free text (remarks) with every phone-like number (mobile, landline, international),
    e-mail address and street address with its number masked; the rest is kept as written."""
    if not text:
        return None
    return _PHONE_IN_TEXT.sub(_mask_match, _mask_emails_and_streets(text))


def looks_like_ciphertext(value: str | None) -> bool:
    """Marketplace-encrypted PII (PDD "~AgAAAA…~", Douyin "#…#"): long, no spaces, no CJK."""
    if not value:
        return False
    text = value.strip()
    if text[:1] in "~#$" and text[-1:] in "~#$" and len(text) > 8:
        return True
    return len(text) >= 24 and " " not in text and not any("\u4e00" <= ch <= "\u9fff" for ch in text) \
        and not _DIGIT.fullmatch(text[:1] or "x") and sum(ch.isdigit() for ch in text) < len(text) // 2 \
        and any(ch in "+/=" for ch in text)


def protect_phone(value: str | None) -> str | None:
    """A receiver phone as stored: masked, or the ciphertext marker when encrypted."""
    if looks_like_ciphertext(value):
        return CIPHERTEXT_MARK
    return mask_phone(value)


def protect_name(value: str | None) -> str | None:
    if looks_like_ciphertext(value):
        return CIPHERTEXT_MARK
    return mask_name(value)


#: JSON keys whose string value is a buyer's phone or street address in some marketplace's
#: payload (Shopify ``phone``/``address1``, TOP ``receiver_mobile``, JD ``fullAddress``,
#: Amazon ``AddressLine1``/``Phone`` …), compared case-insensitively
PAYLOAD_PHONE_KEYS = frozenset({"phone", "mobile", "telephone", "tel", "receiver_mobile", "receiver_phone",
                                "post_tel", "buyer_phone"})
PAYLOAD_ADDRESS_KEYS = frozenset({"address", "address1", "address2", "address3", "addressline1", "addressline2",
                                  "addressline3", "street", "receiver_address", "fulladdress", "detail_address"})
#: JSON keys whose string value is a buyer's or seller's free-text remark (TOP buyer_message /
#: seller_memo, PDD buyer_memo / remark, Douyin buyer_words / seller_words, JD orderRemark /
#: venderRemark, Shopify note): masked with ``mask_text`` as the normalisers store them
PAYLOAD_REMARK_KEYS = frozenset({"buyer_message", "seller_memo", "buyer_memo", "remark", "buyer_words",
                                 "seller_words", "orderremark", "venderremark", "note", "buyer_remark",
                                 "seller_remark"})
_PAYLOAD_FIELD = re.compile(rb'"(' + "|".join(sorted(PAYLOAD_PHONE_KEYS | PAYLOAD_ADDRESS_KEYS
                                                     | PAYLOAD_REMARK_KEYS)).encode()
                            + rb')"\s*:\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)


def mask_payload(raw: bytes, platform: str | None = None) -> bytes:
    """A marketplace's JSON body with every clear phone and street address masked in place,
    and the contact data typed into remarks (``mask_text``).

    Raw pages are archived for audit (domain-rules §1), but §7 keeps buyer data out of the
    database in clear: Shopify and Amazon deliver phones and street addresses unmasked. Only
    the string values of the keys above change (``"+1 415-555-0123"`` → ``"+1 41****0123"``,
    ``"1200 Main St"`` → ``"****"``); the rest of the body stays byte for byte as received,
    values already masked (``*``) or encrypted by the marketplace are left as they are, and a
    body that is not JSON is scanned all the same (a truncated page is archived too).
    With ``platform``, that platform's own PII keys are masked too (``mask_platform_pii``).
    """
    def masked(match: re.Match[bytes]) -> bytes:
        key = match.group(1).decode("ascii").lower()
        is_phone = key in PAYLOAD_PHONE_KEYS
        try:
            value = json.loads(b'"' + match.group(2) + b'"')
        except ValueError:
            return match.group(0)
        if key in PAYLOAD_REMARK_KEYS:   # free text: contact data inside it, the rest as written
            safe = mask_text(value) if value.strip() else value
            return match.group(0) if safe == value else \
                b'"' + match.group(1) + b'":' + json.dumps(safe, ensure_ascii=False).encode()
        if not value.strip() or "*" in value or looks_like_ciphertext(value):
            return match.group(0)
        safe = mask_phone(value) if is_phone else mask_address(value)
        return b'"' + match.group(1) + b'":' + json.dumps(safe, ensure_ascii=False).encode()

    masked_raw = _PAYLOAD_FIELD.sub(masked, raw)
    return mask_platform_pii(masked_raw, platform) if platform else masked_raw


# --- per-platform PII paths (issue 18 #12) ----------------------------------------------------
# Buyer fields each marketplace sends beyond the generic phone / address / remark keys above,
# by JSON key as that platform spells it, with what they hold. ``mask_payload(raw, platform)``
# masks them before a raw page or a quarantined record is stored. JD: the JOS SDK's
# OrderSearchInfo / UserInfo; Douyin: order.searchList (encrypt_* are ciphertext, mask_* are
# Douyin's own masks, post_* the clear fields of older replies).
PII_NAME, PII_PHONE, PII_ADDRESS, PII_CIPHERTEXT = "name", "phone", "address", "ciphertext"
PII_PATHS: dict[str, dict[str, str]] = {
    "jd": {"pin": PII_NAME, "realPin": PII_NAME, "fullname": PII_NAME, "fullAddress": PII_ADDRESS,
           "mobile": PII_PHONE, "telephone": PII_PHONE, "invoiceTitle": PII_NAME},
    "douyin": {"post_receiver": PII_NAME, "mask_post_receiver": PII_NAME, "post_tel": PII_PHONE,
               "mask_post_tel": PII_PHONE, "detail": PII_ADDRESS, "encrypt_post_receiver": PII_CIPHERTEXT,
               "encrypt_post_tel": PII_CIPHERTEXT, "encrypt_detail": PII_CIPHERTEXT},
}
_PATH_PATTERNS = {platform: re.compile(rb'"(' + "|".join(sorted(map(re.escape, keys))).encode()
                                       + rb')"\s*:\s*"((?:[^"\\]|\\.)*)"')
                  for platform, keys in PII_PATHS.items()}


def _masked_value(kind: str, value: str) -> str:
    if not value.strip():
        return value
    if kind == PII_CIPHERTEXT or looks_like_ciphertext(value):
        return CIPHERTEXT_MARK
    if "*" in value:          # the marketplace's own mask
        return value
    if kind == PII_NAME:
        return mask_name(value) or MASK
    if kind == PII_PHONE:
        return mask_phone(value) or MASK
    return mask_address(value) or MASK


def mask_platform_pii(raw: bytes, platform: str) -> bytes:
    """``raw`` with the string values of ``platform``'s PII keys (``PII_PATHS``) masked in place;
    a platform without a table is returned unchanged."""
    pattern = _PATH_PATTERNS.get(platform)
    if pattern is None:
        return raw
    kinds = PII_PATHS[platform]

    def masked(match: re.Match[bytes]) -> bytes:
        try:
            value = json.loads(b'"' + match.group(2) + b'"')
        except ValueError:
            return match.group(0)
        safe = _masked_value(kinds[match.group(1).decode("ascii")], value)
        return match.group(0) if safe == value else \
            b'"' + match.group(1) + b'":' + json.dumps(safe, ensure_ascii=False).encode()

    return pattern.sub(masked, raw)


# --- merge identity on encrypted orders (issue 18 #13) ------------------------------------------

def clear_identity(value: object) -> str | None:
    """``value`` as an identity only when it is clear: a masked value (``t**``) is shared by
    unrelated buyers and ciphertext may differ on every order, so neither identifies anyone."""
    text = str(value).strip() if value not in (None, "") else ""
    if not text or "*" in text or looks_like_ciphertext(text):
        return None
    return text


def address_identity(merge_id: object, *region_and_street: str | None) -> str | None:
    """What an order's ``address_hash`` is made of: the platform's merge identity (Douyin/PDD
    ``open_address_id``, TOP/JD ``oaid``) when sent, else region + street when the street is
    clear; never ciphertext, never a mask (then None: the order merges with no other)."""
    if merge_id not in (None, ""):
        return f"merge-id:{merge_id}"
    *region, street = region_and_street or (None,)
    if clear_identity(street) is None:
        return None
    return "".join(part for part in (*region, street) if part)

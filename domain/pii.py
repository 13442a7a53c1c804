"""Buyer data protection (domain-rules.md §7): what the normalisers may store about a buyer.

Phones, names and street addresses are stored only masked; repeat buyers and same-address
orders are recognised through ``stable_hash``, a keyed one-way hash whose key belongs to the
deployment (passed in by the caller, never a constant here), so a leaked table cannot be
reversed by hashing a phone book. ``mask_text`` finds phone numbers, e-mail addresses and
street addresses inside free text (buyer remarks such as "改发 13812345678 文三路100号")
before the text is stored or shown.
"""
from __future__ import annotations

import copy
import functools
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
#: the same, public: the leak scan looks for clear e-mail addresses with it
EMAIL_IN_TEXT = _EMAIL_IN_TEXT
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


def mask_payload(raw: bytes) -> bytes:
    """A marketplace's JSON body with every clear phone and street address masked in place,
    and the contact data typed into remarks (``mask_text``).

    Raw pages are archived for audit (domain-rules §1), but §7 keeps buyer data out of the
    database in clear: Shopify and Amazon deliver phones and street addresses unmasked. Only
    the string values of the keys above change (``"+1 415-555-0123"`` → ``"+1 41****0123"``,
    ``"1200 Main St"`` → ``"****"``); the rest of the body stays byte for byte as received,
    values already masked (``*``) or encrypted by the marketplace are left as they are, and a
    body that is not JSON is scanned all the same (a truncated page is archived too).
    Each platform's own buyer fields are masked by ``mask_pii_payload`` with its ``PII_PATHS``.
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

    return _PAYLOAD_FIELD.sub(masked, raw)


# --- per-platform tables of PII paths (issue 18 #12) ------------------------------------------
#
# Each platform declares where its payloads carry buyer data, as a table ``{path: kind}`` in its
# normaliser module (``PII_PATHS``, read through ``domain.normalise.pii_paths``). A path is a
# dotted chain of JSON keys, lists being passed through ("orders.order.buyer_nick" reaches every
# element's key); a leading ``**.`` matches at any depth (the same record arrives in several
# envelopes: a page, a single-order answer, a quarantined record), ``*`` matches any one key. The
# masking below runs before a raw page or a quarantined record is stored.

#: how each kind of buyer datum is masked; values encrypted by the marketplace stay as they are
PII_KINDS = ("name", "nick", "phone", "email", "account", "street", "text", "ip", "area", "id")


def _mask_email(value: str) -> str:
    local, at, domain = value.partition("@")
    return f"{local[:1]}{MASK}@{domain}" if at and local else MASK


def mask_pii_value(value: object, kind: str) -> object:
    """One buyer datum of ``kind`` (``PII_KINDS``) masked: names and nicks keep their first letter,
    phones their ends, e-mails their domain, streets nothing (the region lives in its own fields);
    an IP, an IP-derived area or an account id is hidden whole. Marketplace ciphertext, empty
    values, booleans and nulls are returned unchanged."""
    if value is None or isinstance(value, bool) or value == "":
        return value
    if isinstance(value, (list, tuple)):
        return [mask_pii_value(item, kind) for item in value]
    if isinstance(value, dict):
        return {key: mask_pii_value(item, kind) for key, item in value.items()}
    text = str(value)
    if looks_like_ciphertext(text):
        return value
    if kind in ("name", "nick"):
        return mask_name(text)
    if kind == "phone":
        return mask_phone(text)
    if kind == "email":
        return _mask_email(text)
    if kind == "account":   # an Alipay account: an e-mail or a phone number
        return _mask_email(text) if "@" in text else (mask_phone(text) if _DIGIT.search(text) else MASK)
    if kind == "street":
        return MASK if text.strip() else value
    if kind == "text":
        return mask_text(text)
    if kind in ("ip", "area", "id"):
        return MASK
    raise ValueError(f"unknown PII kind {kind!r}; known: {', '.join(PII_KINDS)}")


def _compiled(paths: dict[str, str]) -> tuple[tuple[tuple[str, ...], str], ...]:
    return _compiled_items(tuple(paths.items()))


@functools.lru_cache(maxsize=64)
def _compiled_items(items: tuple[tuple[str, str], ...]) -> tuple[tuple[tuple[str, ...], str], ...]:
    compiled = []
    for path, kind in items:
        if kind not in PII_KINDS:
            raise ValueError(f"PII path {path!r}: unknown kind {kind!r}; known: {', '.join(PII_KINDS)}")
        segments = tuple(path.split("."))
        if not segments or "" in segments or segments[-1] in ("*", "**"):
            raise ValueError(f"PII path {path!r} must end with a key")
        compiled.append((segments, kind))
    return tuple(compiled)


class _PathMatcher:
    """Compiled PII paths as a trie read like an automaton: the walk of a document carries the
    set of trie nodes its position can still reach, and each key steps that set once (memoised
    per set and key). A position costs one dict lookup however many paths the table declares,
    where comparing every path with every key cost the Shopify pages 10× their ``mask_payload``.
    ``**`` matches zero or more keys, ``*`` exactly one; lists are passed through."""

    #: memoised steps kept at most per state set (documents keyed by ids would otherwise grow
    #: it without end in a long-lived worker)
    MEMO_LIMIT = 50_000

    def __init__(self, compiled: tuple[tuple[tuple[str, ...], str], ...]):
        self.children: list[dict[str, int]] = [{}]
        self.kind: list[str | None] = [None]
        #: a ``**`` node stays active below every key it reads
        self.anywhere: list[bool] = [False]
        for segments, kind in compiled:
            node = 0
            for segment in segments:
                if segment not in self.children[node]:
                    self.children.append({})
                    self.kind.append(None)
                    self.anywhere.append(segment == "**")
                    self.children[node][segment] = len(self.children) - 1
                node = self.children[node][segment]
            self.kind[node] = kind
        self.start: tuple[int, ...] = (0,)
        #: the key every path ends with: a scalar under any other key is never masked
        self.last_keys = frozenset(segments[-1] for segments, _ in compiled)
        #: states → key → (kind, states below), filled as documents are walked
        self._memo: dict[tuple[int, ...], dict[str, tuple[str | None, tuple[int, ...]]]] = {}

    def _closure(self, node: int) -> list[tuple[int, bool]]:
        """``node`` and the ``**`` nodes reachable from it without reading a key (each with
        whether it is a ``**`` node)."""
        out = [(node, self.anywhere[node])]
        while "**" in self.children[node]:
            node = self.children[node]["**"]
            out.append((node, True))
        return out

    def step(self, states: tuple[int, ...], key: str) -> tuple[str | None, tuple[int, ...]]:
        """(the kind of a path ending at ``key``, or None; the states below ``key``)."""
        table = self._memo.get(states)
        if table is None:
            table = self._memo[states] = {}
        found = table.get(key)
        if found is not None:
            return found
        if len(table) >= self.MEMO_LIMIT:
            table.clear()
        kind, following = None, set()
        for state in states:
            for node, is_anywhere in self._closure(state):
                if is_anywhere:
                    following.add(node)   # keeps looking further down
                for child in (self.children[node].get(key), self.children[node].get("*")):
                    if child is None:
                        continue
                    if self.kind[child] is not None:
                        kind = self.kind[child]
                    if self.children[child]:
                        following.add(child)
        found = table[key] = (kind, tuple(sorted(following)))
        return found

    def mask_in_place(self, node: object, states: tuple[int, ...] | None = None) -> int:
        """Mask every value the paths reach inside ``node`` (a parsed JSON document) in place;
        how many values changed. A value a path ends at is masked whole (``mask_pii_value``)."""
        states = self.start if states is None else states
        changed = 0
        if isinstance(node, list):
            for item in node:
                if isinstance(item, (dict, list)):
                    changed += self.mask_in_place(item, states)
        elif isinstance(node, dict):
            last_keys, table = self.last_keys, self._memo.get(states) or {}
            for key, value in node.items():
                if key not in last_keys and not isinstance(value, (dict, list)):
                    continue   # a scalar under a key no path ends with (most of a page)
                kind, below = table.get(key) or self.step(states, key)
                if kind is not None:
                    safe = mask_pii_value(value, kind)
                    if safe != value:
                        node[key] = safe   # an existing key: the dict does not change size
                        changed += 1
                elif below and isinstance(value, (dict, list)):
                    changed += self.mask_in_place(value, below)
        return changed


@functools.lru_cache(maxsize=64)
def _matcher(structured: tuple[tuple[tuple[str, ...], str], ...]) -> _PathMatcher:
    return _PathMatcher(structured)


def mask_pii(document: object, paths: dict[str, str]) -> object:
    """A copy of a parsed JSON ``document`` with every value a path of ``paths`` reaches masked
    as its kind says (``mask_pii_value``); everything else is kept as it is."""
    copied = copy.deepcopy(document)
    _matcher(_compiled(paths)).mask_in_place(copied)
    return copied


_VALUE = rb'("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'


def mask_pii_payload(raw: bytes, paths: dict[str, str]) -> bytes:
    """A marketplace body with the values ``paths`` reach masked before it is stored.

    Paths of the form ``**.key`` are masked in the bytes themselves (the rest of the body stays
    byte for byte as received, and a body that is not JSON, such as a truncated page, is masked
    all the same); a body with structured paths is parsed, masked and written back as compact
    JSON (when it cannot be parsed, the last key of such a path is masked wherever it occurs).
    """
    compiled = _compiled(paths)
    if not compiled or not raw:
        return raw
    is_anywhere = [len(segments) == 2 and segments[0] == "**" for segments, _ in compiled]
    anywhere = {segments[1]: kind for (segments, kind), flat in zip(compiled, is_anywhere) if flat}
    structured = tuple(entry for entry, flat in zip(compiled, is_anywhere) if not flat)
    if structured:
        try:
            document = json.loads(raw)
        except ValueError:
            anywhere.update({segments[-1]: kind for segments, kind in structured if segments[-1] != "*"})
        else:
            # masked in place; a body with nothing to mask stays byte for byte
            if _matcher(structured).mask_in_place(document):
                raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    if not anywhere:
        return raw
    pattern = _pii_pattern(tuple(sorted(anywhere)))

    def masked(match: re.Match[bytes]) -> bytes:
        kind = anywhere[match.group(1).decode()]
        text = match.group(2)
        if text[:1] == b'"' and b"\\" not in text:   # a plain string (the common case): no JSON parse
            value = text[1:-1].decode("utf-8", "surrogateescape")
        else:
            try:
                value = json.loads(text)
            except ValueError:
                return match.group(0)
        safe = mask_pii_value(value, kind)
        if safe == value:
            return match.group(0)
        # an undecodable byte of the body (decoded as a surrogate above) is written back as received
        return b'"' + match.group(1) + b'":' + json.dumps(safe, ensure_ascii=False).encode("utf-8", "surrogateescape")

    return pattern.sub(masked, raw)


@functools.lru_cache(maxsize=64)
def _pii_pattern(keys: tuple[str, ...]) -> re.Pattern[bytes]:
    return re.compile(rb'"(' + b"|".join(re.escape(k.encode()) for k in keys) + rb')"\s*:\s*' + _VALUE)


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

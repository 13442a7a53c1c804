"""Request signatures of the Chinese open platforms, exactly as their SDKs compute them.

All sign a canonical string built from the request parameters sorted by key (ASCII):
``key1value1key2value2…``. TOP wraps it in the secret for MD5 or uses the secret as the
HMAC key (HMAC-MD5 or HMAC-SHA256); JD and PDD use the wrapped MD5. All three return
upper-case hex. Douyin signs a fixed sequence of five fields.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

TOP_SIGN_METHODS = ("md5", "hmac", "hmac-sha256")


def sorted_concat(params: Mapping[str, object], drop_empty: bool = True) -> str:
    """``k1v1k2v2…`` over ``params`` sorted by key, ``sign`` itself excluded.

    TOP's SDK drops empty values (they are not sent either); JD and PDD sign what is sent.
    """
    return "".join(
        f"{key}{value}" for key, value in sorted(params.items())
        if key != "sign" and value is not None and (value != "" or not drop_empty)
    )


def wrapped_md5(text: str, secret: str) -> str:
    """``UPPER(MD5(secret + text + secret))``."""
    return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()


def top_sign(params: Mapping[str, object], secret: str, sign_method: str = "md5") -> str:
    """TOP's ``sign`` for ``params`` (which include ``sign_method``)."""
    text = sorted_concat(params)
    if sign_method == "md5":
        return wrapped_md5(text, secret)
    if sign_method == "hmac":
        return hmac.new(secret.encode(), text.encode(), hashlib.md5).hexdigest().upper()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unknown TOP sign_method {sign_method!r}; use one of {', '.join(TOP_SIGN_METHODS)}")


def jd_sign(params: Mapping[str, object], secret: str) -> str:
    """JD: wrapped MD5 over the system parameters including ``360buy_param_json``."""
    return wrapped_md5(sorted_concat(params, drop_empty=False), secret)


def pdd_sign(params: Mapping[str, object], client_secret: str) -> str:
    """PDD: wrapped MD5 over every request parameter."""
    return wrapped_md5(sorted_concat(params, drop_empty=False), client_secret)


def compact_json(value: object) -> str:
    """The JSON text platforms sign: sorted keys, no spaces, UTF-8 kept (Douyin, JD)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def douyin_sign(app_key: str, method: str, param_json: str, timestamp: str, secret: str,
                sign_method: str = "md5", version: str = "2") -> str:
    """Douyin: ``secret + app_key… + method… + param_json… + timestamp… + v… + secret``,
    MD5 or HMAC-SHA256 (key = secret), lower-case hex as the platform's SDKs send it."""
    text = (f"{secret}app_key{app_key}method{method}param_json{param_json}"
            f"timestamp{timestamp}v{version}{secret}")
    if sign_method == "md5":
        return hashlib.md5(text.encode()).hexdigest()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    raise ValueError(f"unknown Douyin sign_method {sign_method!r}; use md5 or hmac-sha256")

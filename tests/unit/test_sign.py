"""Request signatures against values worked out independently of ``connectors.signing``.

Each case builds the sorted ``k1v1k2v2…`` string by hand, hashes it with hashlib/hmac
directly, and also compares with a literal hex computed with ``openssl`` when the test
was written (``printf '%s' "$SECRET$S$SECRET" | openssl md5`` and ``openssl dgst -hmac``).
"""
from __future__ import annotations

import hashlib
import hmac

import pytest

from connectors.signing import douyin_sign, jd_sign, pdd_sign, top_sign

TOP_SECRET = "helloworld"


def top_params(sign_method: str) -> dict[str, str]:
    return {
        "method": "taobao.trades.sold.increment.get", "app_key": "12345678", "session": "test-session",
        "timestamp": "2026-11-11 08:00:00", "format": "json", "v": "2.0", "sign_method": sign_method,
        "simplify": "",  # empty values are not signed (TOP SDK)
    }


def top_concat(sign_method: str) -> str:
    # sorted by key: app_key, format, method, session, sign_method, timestamp, v
    return ("app_key12345678" "formatjson" "methodtaobao.trades.sold.increment.get" "sessiontest-session"
            f"sign_method{sign_method}" "timestamp2026-11-11 08:00:00" "v2.0")


@pytest.mark.parametrize("sign_method, by_hand, literal", [
    ("md5", lambda s: hashlib.md5((TOP_SECRET + s + TOP_SECRET).encode()).hexdigest(),
     "28CE1F86396BAB3EB74F7EAE1829BFE0"),
    ("hmac", lambda s: hmac.new(TOP_SECRET.encode(), s.encode(), hashlib.md5).hexdigest(),
     "4FFBE5522BA8AD3A7016E09F92EC9B44"),
    ("hmac-sha256", lambda s: hmac.new(TOP_SECRET.encode(), s.encode(), hashlib.sha256).hexdigest(),
     "3930744BCF928B270488EF4059BC27D7E93A150441F262C331C330B3C8C56AF7"),
])
def test_top_sign_matches_hand_computation_and_literal(sign_method, by_hand, literal):
    signed = top_sign(top_params(sign_method), TOP_SECRET, sign_method)
    assert signed == by_hand(top_concat(sign_method)).upper() == literal


def test_top_sign_ignores_an_existing_sign_and_rejects_unknown_methods():
    params = {**top_params("md5"), "sign": "WHATEVER"}
    assert top_sign(params, TOP_SECRET, "md5") == "28CE1F86396BAB3EB74F7EAE1829BFE0"
    with pytest.raises(ValueError, match="sign_method"):
        top_sign(top_params("sha1"), TOP_SECRET, "sha1")


def test_jd_sign_includes_the_business_json():
    params = {
        "method": "jingdong.pop.order.search", "app_key": "jd-app-key", "access_token": "jd-token",
        "timestamp": "2026-11-11 10:01:00", "v": "2.0",
        "360buy_param_json": '{"end_date":"2026-11-11 10:00:00","page":"1","start_date":"2026-11-11 09:00:00"}',
    }
    concat = ('360buy_param_json{"end_date":"2026-11-11 10:00:00","page":"1","start_date":"2026-11-11 09:00:00"}'
              "access_tokenjd-token" "app_keyjd-app-key" "methodjingdong.pop.order.search"
              "timestamp2026-11-11 10:01:00" "v2.0")
    expected = hashlib.md5(f"jdsecret{concat}jdsecret".encode()).hexdigest().upper()
    assert jd_sign(params, "jdsecret") == expected == "20E7A50E17CBB9A3B2B01584320919DB"


def test_pdd_sign_over_every_parameter():
    params = {
        "type": "pdd.order.number.list.increment.get", "client_id": "pdd-client-id", "access_token": "pdd-token",
        "timestamp": "1794362580", "data_type": "JSON", "start_updated_at": "1794360600",
        "end_updated_at": "1794362400", "page": "1", "page_size": "100",
    }
    concat = ("access_tokenpdd-token" "client_idpdd-client-id" "data_typeJSON" "end_updated_at1794362400"
              "page1" "page_size100" "start_updated_at1794360600" "timestamp1794362580"
              "typepdd.order.number.list.increment.get")
    expected = hashlib.md5(f"pddsecret{concat}pddsecret".encode()).hexdigest().upper()
    assert pdd_sign(params, "pddsecret") == expected == "C232F3C49CCEBC85BB6C4F27EB7BDC61"


def test_douyin_sign_md5_and_hmac_sha256():
    text = 'dysecretapp_keydy-app-keymethodorder.searchListparam_json{"page":0,"size":100}timestamp1794362580v2dysecret'
    args = ("dy-app-key", "order.searchList", '{"page":0,"size":100}', "1794362580", "dysecret")
    assert douyin_sign(*args) == hashlib.md5(text.encode()).hexdigest() == "64d49d2f5d96bb708fd63938175745b7"
    assert douyin_sign(*args, sign_method="hmac-sha256") == hmac.new(
        b"dysecret", text.encode(), hashlib.sha256).hexdigest() == \
        "b026fdf1a122392353cb235d3d7fce343923173a19d1bf2d4b79968d0a62f731"

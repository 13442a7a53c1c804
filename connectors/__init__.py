"""Marketplace connectors: one class per platform behind ``connectors.base.Connector``.

``build_connector(platform, shop_id, settings, credentials)`` is the one entry point the
tasks use; ``default_settings(platform, base_url, **overrides)`` gives the platform's
limits (window length, page size, safety lag, rate) to start from. No Prefect here.
"""
from __future__ import annotations

from typing import Any

from connectors.amazon import AmazonConnector
from connectors.base import (AuthError, Connector, ConnectorError, ConnectorSettings, Credentials, Page,
                             PlatformError, PushResult, ShipmentResult, ThrottledError, TokenExpiredError,
                             TokenRefreshError, TransientError, UnexpectedReplyError, redact)
from connectors.douyin import DouyinConnector
from connectors.file_import import FileImportConnector, FileImportError
from connectors.jd import JdConnector
from connectors.pdd import PddConnector
from connectors.shopify import ShopifyConnector
from connectors.taobao import TaobaoConnector

CONNECTORS: dict[str, type[Connector]] = {
    cls.platform: cls
    for cls in (TaobaoConnector, JdConnector, PddConnector, DouyinConnector, ShopifyConnector,
                AmazonConnector, FileImportConnector)
}


def _connector_class(platform: str) -> type[Connector]:
    try:
        return CONNECTORS[platform]
    except KeyError:
        raise ValueError(f"no connector for platform {platform!r}; known: {', '.join(CONNECTORS)}") from None


def default_settings(platform: str, base_url: str, **overrides: Any) -> ConnectorSettings:
    """The platform's documented limits, with ``overrides`` (e.g. from shops.yaml) on top."""
    return _connector_class(platform).default_settings(base_url, **overrides)


def build_connector(platform: str, shop_id: str, settings: ConnectorSettings, credentials: Credentials,
                    **kwargs: Any) -> Connector:
    """The connector of ``platform`` for one shop (``kwargs``: ``clock``, ``sleep``, and
    ``mapping`` for file shops)."""
    return _connector_class(platform)(shop_id, settings, credentials, **kwargs)


__all__ = [
    "AuthError", "Connector", "ConnectorError", "ConnectorSettings", "Credentials", "FileImportError", "Page",
    "PlatformError", "PushResult", "ShipmentResult", "ThrottledError", "TokenExpiredError", "TokenRefreshError",
    "TransientError", "UnexpectedReplyError",
    "CONNECTORS",
    "build_connector", "default_settings", "redact",
]

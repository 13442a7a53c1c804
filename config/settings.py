"""Process settings: where things live and how the program behaves, from the environment.

Business numbers (thresholds, rates, windows) are *not* here: they live in ``rules.yaml``
next to this file. Every field can be overridden with a ``SHOPOPS_``-prefixed environment
variable (``SHOPOPS_DATABASE_URL``, ``SHOPOPS_LOCALE`` …) or a ``.env`` file in the project.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPOPS_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        description="Folder for the embedded warehouse, the demo's Prefect home, reports and logs.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the warehouse. Default: SQLite file data/warehouse.sqlite. "
        "Production: postgresql+psycopg://user@host/db",
    )
    config_dir: Path = Field(default=CONFIG_DIR, description="Folder holding shops.yaml, rules.yaml, promotions/.")
    locale: Literal["zh_CN", "en"] = Field(default="zh_CN", description="Language of report headings and messages.")
    reports_dir: Path | None = Field(default=None, description="Where .xlsx/.csv reports go. Default: data/reports.")
    report_retention_days: int = Field(
        default=90, ge=0, description="Days a dated report (<family>-YYYY-MM-DD.xlsx) is kept; older ones of the "
        "family are deleted when it publishes its next report. 0 keeps every report.")
    reports_url: str | None = Field(
        default=None, description="Base URL under which the reports folder is served read-only (shopops "
        "reports-server; the demo sets http://127.0.0.1:<reports_port>/reports). Artifact links point there; "
        "unset, they are file:// links that only the server machine can open.")
    reports_port: int = Field(default=8767, description="Port of the demo's read-only reports server (127.0.0.1).")
    prefect_port: int = Field(default=4200, description="Port of the demo's local Prefect server (bound to 127.0.0.1).")
    prefect_api_url: str | None = Field(
        default=None, description="Prefect API the shopops CLI runs its flows on and reads secrets from, e.g. "
        "http://prefect.internal:4200/api. Default: the demo's server, http://127.0.0.1:<prefect_port>/api. "
        "An explicit PREFECT_API_URL (environment or Prefect profile) wins. The CLI never starts a "
        "throwaway server of its own (shopops/prefect_api.py).")
    sandbox_port: int = Field(default=8765, description="Port of the demo's sandbox marketplace (127.0.0.1).")
    webhook_url: str | None = Field(default=None, description="Team webhook for failed runs, quarantine spikes and "
                                    "critical restock alerts (`shopops notify setup` registers it).")
    webhook_format: Literal["generic", "dingtalk", "wecom"] = Field(
        default="generic", description="Message body the webhook expects: generic JSON {source, title, text}, or a "
        "DingTalk / WeCom group robot's markdown message.")

    @field_validator("reports_url", "prefect_api_url", mode="after")
    @classmethod
    def _http(cls, value: str | None, info) -> str | None:
        example = {"reports_url": "http://127.0.0.1:8767/reports", "prefect_api_url": "http://127.0.0.1:4200/api"}
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"SHOPOPS_{info.field_name.upper()} '{value}' is not an http(s) URL "
                             f"(e.g. {example[info.field_name]})")
        return value.rstrip("/") if value else value

    @field_validator("data_dir", "config_dir", "reports_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @property
    def warehouse_url(self) -> str:
        """The warehouse URL actually used (the SQLite default is made absolute)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'warehouse.sqlite'}"

    @property
    def demo_prefect_api(self) -> str:
        """The API of the demo's Prefect server (127.0.0.1:<prefect_port>)."""
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def prefect_api(self) -> str:
        """The Prefect API the CLI uses when PREFECT_API_URL is not set: SHOPOPS_PREFECT_API_URL, else
        the demo's server."""
        return self.prefect_api_url or self.demo_prefect_api

    @property
    def report_folder(self) -> Path:
        return self.reports_dir or (self.data_dir / "reports")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

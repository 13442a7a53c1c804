"""What a platform's own documentation says about one API method, stated once.

Each connector module declares its methods as :class:`Documented` values (``DOCUMENTED`` in
``connectors/<platform>.py``). The connector builds its requests from them, and the sandbox
(``sandbox/platforms/<platform>.py``) refuses a request that lacks a required parameter and
returns only the requested fields, from the same declaration: so the two cannot drift apart on
the facts the platform fixes. Each value names its source (document, page or SDK) so a reader
can check it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Documented:
    """One API method as its platform documents it."""

    method: str
    source: str
    # request parameters the platform rejects the call without (its 必填 column)
    required: tuple[str, ...] = ()
    # the fields this product asks for, where the platform returns only the fields asked for
    # (TOP ``fields``, JD ``optional_fields``, Shopify ``fields``); empty where it returns all
    requested_fields: tuple[str, ...] = ()
    # the request parameter that carries ``requested_fields`` ("" where there is none)
    fields_parameter: str = ""
    # documented types of response fields that matter here: "str", "int", "int64-as-str", "money-str" …
    field_types: Mapping[str, str] = field(default_factory=dict)

    def missing(self, params: Mapping[str, object]) -> list[str]:
        """The required parameters absent or empty in ``params`` (what the platform refuses)."""
        return [name for name in self.required if params.get(name) in (None, "", [], {})]

    def fields_value(self, sep: str = ",") -> str:
        return sep.join(self.requested_fields)


def only_requested(record: Mapping[str, object], requested: Iterable[str]) -> dict:
    """``record`` cut to the top-level fields in ``requested`` (a dotted name keeps its head):
    what a platform that honours its ``fields`` parameter sends back."""
    heads = {name.split(".", 1)[0] for name in requested}
    return {key: value for key, value in record.items() if key in heads}

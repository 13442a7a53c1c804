"""Words for a person, said in the reader's language later.

The domain layer decides *what* to tell a person (an order held because its buyer remark
mentions 改地址) but not in which language: that is the reader's setting (``SHOPOPS_LOCALE``),
applied where a report or message is written (``shopops.i18n.say``). A :class:`Text` is the
English sentence (what the database and the domain's tests keep) carrying its catalogue key and
values, so a report can say it in Chinese.
"""
from __future__ import annotations

from collections.abc import Iterable


class Text(str):
    """English text that remembers its message key (``shopops/i18n.py``) and the values to
    fill it with. It is a ``str`` (compares, joins and stores as the English), so code that
    does not translate keeps working; a Text inside ``values`` is said in the same language."""

    key: str | None
    values: dict[str, object]

    def __new__(cls, english: str, key: str | None = None, **values: object) -> "Text":
        text = super().__new__(cls, english)
        text.key = key
        text.values = values
        return text

    @classmethod
    def joined(cls, parts: Iterable[str], sep: str = "; ") -> "Text":
        """Several texts as one (each still said in the reader's language)."""
        parts = list(parts)
        return cls(sep.join(parts), "", parts=parts, sep=sep)

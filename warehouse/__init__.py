"""The SQL warehouse: models (``models``), migrations (``migrate``, ``migrations/``),
engines (``db``) and the storage API the flows call (``repository``)."""

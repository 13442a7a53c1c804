"""Pure business logic: plain Python and pandas, no Prefect, no database, no HTTP.

Everything here is a function of its arguments (normalisation, validation rules,
reconciliation, restock maths, batching, settlement) so it is unit-testable in milliseconds.
Allowed imports: the standard library, pandas/numpy, and other ``domain`` modules.
"""

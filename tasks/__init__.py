"""Prefect tasks: each a few lines — load, call a domain function, store, report.

Granularity is a page, a shop or a chunk; never one task per order (≈5 ms each).
Tasks may import domain/, connectors/, warehouse/, config/; flows import tasks.
"""

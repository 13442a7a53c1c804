"""Prefect flows: each composes tasks and reads like its runbook paragraph.

One module per business area; every flow is a deployment in prefect.yaml.
"""

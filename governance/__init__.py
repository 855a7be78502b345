"""The schema evolution workflow: lint the schemas, check compatibility, register, report status.

``python -m governance lint|check|register|status``; see docs/schema-evolution.md.
"""

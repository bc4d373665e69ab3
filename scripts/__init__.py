"""Operator commands: status, replay dead letters, table maintenance, show tables (installed as
pipeline-status, replay-dead-letters, maintain-tables, show-tables: pyproject.toml)."""

"""Operator commands: status, replay dead letters, table maintenance, show tables, an Avro topic's
columns from its registry (installed as pipeline-status, replay-dead-letters, maintain-tables,
show-tables, registry-schema: pyproject.toml)."""

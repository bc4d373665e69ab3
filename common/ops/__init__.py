"""Ops: keep the tables healthy without Flink (status, lag, table access, S3 Tables maintenance)."""

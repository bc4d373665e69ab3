"""Load (config, properties), render (DDL and SQL) and run (Flink) for the streaming job."""

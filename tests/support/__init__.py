"""What tests and benchmarks share: the harness (broker, workspaces, moto), the event data, the reference model."""

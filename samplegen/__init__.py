"""Sample traffic for the job's Kafka topics (the engine of sample_gen.py).

- model: users, sessions, bids, user actions and orders, as records of the topic schemas
- schema: values of any Flink SQL type (parsed by common.flink_types, as the job does), validation
- faults: out-of-order, late and malformed records; encoding to JSON bytes
- kafka_io: producer configuration (plaintext or MSK IAM) and confirmed delivery
- runner: count/duration, rate, progress, Ctrl-C, flush, manifest
"""

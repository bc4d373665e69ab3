"""Sample traffic for the job's Kafka topics (the engine of sample_gen.py).

- model: users, sessions, bids, user actions and orders, as records of the topic schemas
- schema: Flink SQL types: parsing, values of any type, validation
- faults: out-of-order, late and malformed records; encoding to JSON bytes
- kafka_io: producer configuration (plaintext or MSK IAM) and confirmed delivery
- runner: count/duration, rate, progress, Ctrl-C, flush, manifest
"""

"""Sample traffic for the job's Kafka topics (the engine of sample_gen.py).

- model: users, sessions, bids, user actions and orders, as records of the topic schemas
- schema: values of any Flink SQL type (parsed by common.load.flink_types, as the job does), validation
- faults: out-of-order, late and malformed records; encoding to JSON bytes
- avro: Avro topics: the writer's schema of a topic (its columns as the job's Avro reader maps them), registering
  it (Confluent-compatible registry or AWS Glue), framing values in the registry's wire format
- producing goes through common/kafka_client.py (plaintext or MSK IAM, confirmed delivery), the
  Kafka client every CLI shares
- runner: count/duration, rate, progress, Ctrl-C, flush, manifest
"""

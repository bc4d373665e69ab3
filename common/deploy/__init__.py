"""Deploy: put the job on Amazon Managed Service for Apache Flink, without Flink (spec, requests, AWS calls)."""

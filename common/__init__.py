"""The job's code, one sub-package per phase (YAML → objects → SQL → Flink), and the tools beside it.

- ``load/``    config/*.yaml and the runtime properties → checked, frozen objects (no live
               instances), and the pipeline contract (``transformer.py``: BaseTransformer and its
               SQL fragments, ``lateness.py``). No PyFlink, no network. May import: the utilities.
- ``render/``  those objects → SQL text (sources, sinks, catalog, dead letters, metrics, the job
               plan). Pure. May import: load, the utilities.
- ``state/``   what survives a redeploy: stable operator ids, restore rules, the sink-schema diff,
               switch offsets, checkpoints. Pure and files. May import: load, the utilities.
- ``run/``     the only code that talks to PyFlink / py4j (the environment, the runner, the compiled
               plan, sink evolution, plan checks, py4j errors, the JVM's console). May import anything
               in common; PyFlink only inside functions.
- ``ops/``     keep it healthy without Flink: table access, status, lag, S3 Tables maintenance.
               May import load, render, the utilities.
- ``deploy/``  put it on the managed service without Flink: the spec, the requests, the AWS calls,
               the state map it ships, the IAM policy. May import load, state, ops, the utilities.
- utilities (``errors``, ``redact``, ``sql``, ``logs``, ``cli``, ``durations``, ``kafka_client``):
               import no sub-package.

tests/unit/test_layout.py holds these rules (and: no cycle; no CLI imports another; common never
imports transformations/, which import only common.sql and common.load); `make lint` bans heavy imports at module level.
"""

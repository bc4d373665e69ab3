"""The job's code, one sub-package per phase (YAML → objects → SQL → Flink), and the tools beside it.

- ``load/``    config/*.yaml and the runtime properties → checked, frozen objects (no live
               instances), and the pipeline contract (``transformer.py``: BaseTransformer and its
               SQL fragments, ``lateness.py``). No PyFlink, no network. May import: the utilities.
- ``render/``  those objects → SQL text (sources, sinks, catalog, dead letters, metrics, the job
               plan). Pure. May import: load, the utilities.
- ``state/``   what survives a redeploy: stable operator ids, restore rules, the sink-schema diff,
               switch offsets, checkpoints. Pure and files. May import: load, the utilities.
- ``run/``     the only code that talks to PyFlink / py4j: the job's flow (``job.py``: options →
               exit code, what streaming_job.py calls), backfill and switch (``backfill.py``), the
               environment, the runner, the compiled plan, sink evolution, plan checks, py4j errors,
               the JVM's console. May import anything in common; PyFlink only inside functions.
- ``ops/``     keep it healthy without Flink: table access, status (with what holds event time),
               lag, S3 Tables maintenance.
               May import load, render, the utilities.
- ``deploy/``  put it on the managed service without Flink: the spec, the requests, the AWS calls,
               the state map it ships, the IAM policy. May import load, state, ops, the utilities.
- utilities (``errors``, ``redact``, ``sql``, ``logs``, ``cli``, ``durations``, ``kafka_client``):
               import no sub-package.

Around it: ``transformations/`` the pipelines (they import only common.sql and common.load, and
common never imports them), ``scripts/`` the operator commands (never the run phase),
``streaming_job.py`` / ``deploy.py`` / ``sample_gen.py`` the entry points, ``dev/`` local services
and test doubles, ``tests/unit/<phase>`` and ``tests/e2e``. tests/unit/test_layout.py holds these
rules (and: no cycle; no CLI imports another; every logger is named by its module);
`make lint` bans heavy imports at module level.
"""

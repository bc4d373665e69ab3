"""The layout's import rules (common/__init__.py), held by walking every import of the tree.

Each rule is one row of RULES: which modules it covers, and which imports they may not make,
at module level or inside a function alike (an import inside a function hides a dependency; it
does not remove it). A second check proves the reason for rule 5 from the outside: the CLIs
that need no Flink load no PyFlink, so `--help`, the generator and deploy.py start fast.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.harness import ROOT

PACKAGES = ("common", "transformations", "samplegen")
CLIS = ("streaming_job", "deploy", "sample_gen", "scripts")
PHASES = ("load", "render", "state", "run", "ops", "deploy")
FLINK = ("common.run", "pyflink", "py4j")


@dataclass(frozen=True)
class Rule:
    why: str
    modules: tuple[str, ...]  # module names, or prefixes ending in "."
    banned: tuple[str, ...]  # imported module names, or their prefixes
    exempt: tuple[str, ...] = ()


RULES = (
    Rule(
        "1. only common.run talks to Flink",
        (
            "common.load.",
            "common.render.",
            "common.state.",
            "common.ops.",
            "common.deploy.",
            "samplegen.",
            "transformations.",
        ),
        FLINK,
    ),
    Rule(
        "1. utilities do not reach Flink",
        (
            "common.errors",
            "common.redact",
            "common.sql",
            "common.logs",
            "common.cli",
            "common.durations",
            "common.kafka_client",
        ),
        FLINK,
    ),
    Rule("2. render and state are independent", ("common.render.",), ("common.state",)),
    Rule("2. render and state are independent", ("common.state.",), ("common.render",)),
    Rule(
        "3. the load phase reads files only",
        ("common.load.",),
        tuple(f"common.{p}" for p in PHASES if p != "load") + ("samplegen",),
    ),
    Rule("3. common never imports a CLI or the generator", ("common.",), ("samplegen",) + CLIS),
    Rule("3. no CLI imports another", ("streaming_job", "deploy", "sample_gen", "scripts."), CLIS),
    Rule(
        "4. the utilities import no sub-package",
        (
            "common.errors",
            "common.redact",
            "common.sql",
            "common.logs",
            "common.cli",
            "common.durations",
            "common.kafka_client",
        ),
        tuple(f"common.{p}" for p in PHASES),
    ),
    Rule("6. operators never reach the run phase", ("scripts.", "deploy", "sample_gen"), ("common.run",)),
    Rule(
        "5. the pipeline contract is the framework's: common never imports a pipeline",
        ("common.",),
        ("transformations",),
    ),
    Rule(
        "pipelines import only common.sql and common.load",
        ("transformations.",),
        (
            "common.errors",
            "common.redact",
            "common.logs",
            "common.cli",
            "common.kafka_client",
            *(f"common.{p}" for p in PHASES if p != "load"),
            "samplegen",
        )
        + CLIS,
    ),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files() -> list[Path]:
    files = [ROOT / f"{name}.py" for name in ("streaming_job", "deploy", "sample_gen")]
    files += sorted((ROOT / "scripts").glob("*.py"))
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in the file; ``from a import b``
    counts as importing ``a.b`` when that is a module of the project, else ``a``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                candidate = f"{node.module}.{a.name}"
                is_module = any(
                    (ROOT / Path(*candidate.split("."))).with_suffix(s).exists()
                    or (ROOT / Path(*candidate.split(".")) / "__init__.py").exists()
                    for s in (".py",)
                )
                found.append((candidate if is_module else node.module, node.lineno, id(node) in top_level))
    return found


def covered(module: str, patterns: tuple[str, ...]) -> bool:
    return any(module.startswith(p) if p.endswith(".") else module == p or module.startswith(p + ".") for p in patterns)


GRAPH = {module_name(f): imports_of(f) for f in project_files()}


def test_the_walk_sees_the_tree():
    """The rules are only as good as the walk: it finds every phase and the known edges."""
    assert {m.split(".")[1] for m in GRAPH if m.startswith("common.") and m.count(".") >= 2} >= set(PHASES)
    assert ("common.load.config", 0, True) not in GRAPH["common.render.job_plan"]
    assert any(name == "common.load.config" for name, _, _ in GRAPH["common.render.job_plan"])
    assert any(name.startswith("pyflink") and not top for name, _, top in GRAPH["common.run.flink_env"])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.why)
def test_import_rule(rule: Rule):
    broken = [
        f"{module}:{line} imports {name}"
        for module, edges in GRAPH.items()
        if covered(module, rule.modules) and not covered(module, rule.exempt)
        for name, line, _ in edges
        if covered(name, rule.banned)
    ]
    assert not broken, f"rule '{rule.why}' broken:\n" + "\n".join(broken)


def test_no_import_cycle():
    """Among the project's modules, in-function imports included (they would only hide a cycle)."""
    edges = {m: {n for n, _, _ in imported if n in GRAPH and n != m} for m, imported in GRAPH.items()}
    for package_init in [m for m in GRAPH if (ROOT / Path(*m.split(".")) / "__init__.py").exists()]:
        edges[package_init] = set()  # a package's __init__ is imported with it, not by it
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for nxt in sorted(edges[module]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt) :] + [nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_heavy_libraries_only_inside_functions():
    """Rule 5 (ruff's TID253 says the same in `make lint`): PyFlink, py4j, pyiceberg, boto3 and the
    Kafka client only inside the functions that use them."""
    heavy = ("pyflink", "py4j", "pyiceberg", "pyarrow", "boto3", "botocore", "confluent_kafka")
    broken = [
        f"{module}:{line} imports {name} at module level"
        for module, edges in GRAPH.items()
        for name, line, top in edges
        if top and covered(name, heavy)
    ]
    assert not broken, "\n".join(broken)


def test_the_clis_that_need_no_flink_load_none():
    code = (
        "import sys, deploy, sample_gen; import scripts.status, scripts.replay_dead_letters; "
        "import common.deploy.iam_policy, common.ops.table_status, common.render.job_plan; "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('pyflink', 'py4j', "
        "'pyiceberg', 'boto3', 'confluent_kafka')}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
    for cli in (
        "streaming_job.py",
        "deploy.py",
        "sample_gen.py",
        "scripts/status.py",
        "scripts/replay_dead_letters.py",
        "scripts/registry_schema.py",
    ):
        shown = subprocess.run(
            [sys.executable, "-X", "importtime", cli, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert shown.returncode == 0, (cli, shown.stderr[-2000:])
        assert "usage:" in shown.stdout, cli
        flink = [line for line in shown.stderr.splitlines() if line.rstrip().endswith(("| pyflink", "| py4j"))]
        assert not flink, f"{cli} --help imported {flink}"


def test_the_loggers_roots_are_the_projects_top_level_modules():
    """Every module logs to getLogger(__name__): the roots setup_logging raises to INFO must be
    exactly the project's top-level packages and modules (a new CLI joins by existing)."""
    from common.logs import OWN_LOGGERS

    tops = {p.stem for p in ROOT.glob("*.py")} | {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert set(OWN_LOGGERS) == (tops - {"tests"}) | {"__main__"}
    named = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in project_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if 'getLogger("' in line
    ]
    assert named == [], "use logging.getLogger(__name__)"

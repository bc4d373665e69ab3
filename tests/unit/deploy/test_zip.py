"""The zip `mvn package` builds for Managed Service for Apache Flink runs on its own.

The zip is unpacked into an empty folder and the job is planned from there (``--dry-run``)
with no repository file on the path: a module, config file or jar missing from
assembly/assembly.xml fails here rather than on the service. No Hadoop is put beside Flink:
the jar's own catalog factory needs none. CI builds the zip first (`mvn package`), so a
missing zip is a failure, not a skip. tests/e2e/test_e2e_cluster.py runs the same zip on a
standalone Flink cluster.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from common.load.properties import ENV_OVERRIDES, RUN_OPTIONS, read_groups

pytestmark = pytest.mark.jvm  # PyFlink planning, or the zip Maven built

ROOT = Path(__file__).resolve().parents[3]
ZIP = ROOT / "target" / "managed-flink-app.zip"
PROPERTIES = ROOT / "application_properties.json"
REQUIREMENTS = ROOT / "package" / "requirements.txt"
DRY_RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> Path:
    if not ZIP.is_file():
        pytest.fail(f"{ZIP} does not exist: build it with `mvn package` (make test does) before running the tests")
    folder = tmp_path_factory.mktemp("managed-flink-app")
    with zipfile.ZipFile(ZIP) as archive:
        archive.extractall(folder)
    return folder


def test_zip_holds_the_run_options_paths_and_all_job_code(unpacked):
    run_options = read_groups(PROPERTIES)[RUN_OPTIONS]
    assert (unpacked / run_options["python"]).is_file()
    assert (unpacked / run_options["jarfile"]).is_file()
    for folder in ("common", "transformations"):
        in_repo = {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*.py")}
        in_zip = {p.relative_to(unpacked).as_posix() for p in (unpacked / folder).rglob("*.py")}
        assert in_repo <= in_zip, f"missing from the zip (rebuild with `mvn package`?): {sorted(in_repo - in_zip)}"
    for name in ("topics.yaml", "transformations.yaml"):
        assert (unpacked / "config" / name).is_file()


def test_zip_has_no_hadoop_jars(unpacked):
    # Only the one dependency jar ships; Hadoop's classes are inside it (below).
    assert sorted(p.name for p in unpacked.rglob("*.jar")) == ["pyflink-dependencies.jar"]


def test_jar_creates_the_catalog_itself(unpacked):
    """The jar's catalog factory is registered, and no class shadows one of Flink's: user-jar
    classes under org.apache.flink.runtime are never loaded (parent-first), docs/cluster.md."""
    with zipfile.ZipFile(unpacked / read_groups(PROPERTIES)[RUN_OPTIONS]["jarfile"]) as jar:
        names = set(jar.namelist())
        factories = jar.read("META-INF/services/org.apache.flink.table.factories.Factory").decode().split()
    assert "mskiceberg.streaming.catalog.PortableIcebergCatalogFactory" in factories
    assert "org/apache/hadoop/conf/Configuration.class" in names
    assert not [n for n in names if n.startswith("org/apache/flink/runtime/")]


def test_bundled_python_packages_are_built_for_the_service(unpacked):
    """lib/python holds every pinned requirement, as CPython 3.12 / Linux x86_64 wheels."""
    bundle = unpacked / "lib" / "python"
    pins = [line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    pins = [p for p in pins if p]
    assert pins, "package/requirements.txt lists nothing to bundle"
    dist_infos = {p.name.lower() for p in bundle.glob("*.dist-info")}
    for pin in pins:
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", pin).groups()
        expected = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}.dist-info"
        assert expected in dist_infos, f"{pin} is not bundled in lib/python ({sorted(dist_infos)})"
    extensions = [p.name for p in bundle.rglob("*.so")]
    assert extensions, "expected PyYAML's C extension in the bundle"
    assert all("cpython-312-x86_64-linux-gnu" in name for name in extensions), extensions


def test_bundled_packages_import_from_the_bundle_alone(unpacked):
    # -S: no site-packages, so yaml can only come from lib/python. The C extension is for
    # the service's Python 3.12; here PyYAML falls back to its pure-Python half.
    code = "import sys; sys.path.insert(0, 'lib/python'); import yaml; print(yaml.__version__, yaml.__file__)"
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=unpacked,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert result.returncode == 0, result.stderr
    version, path = result.stdout.split()
    assert f"PyYAML=={version}" in REQUIREMENTS.read_text()
    assert Path(path).resolve().is_relative_to(unpacked.resolve())


def test_dry_run_from_the_unpacked_zip(unpacked):
    # The repository's properties as they are: no PYTHONPATH, no property overrides from the
    # environment, and no Hadoop beside Flink (the jar's catalog factory needs none).
    ignored = {"PYTHONPATH", "APP_PROPERTIES_FILE", "HADOOP_CLASSPATH", "HADOOP_CONF_DIR", *ENV_OVERRIDES}
    env = {k: v for k, v in os.environ.items() if k not in ignored}
    result = subprocess.run(
        [sys.executable, str(unpacked / "streaming_job.py"), "--dry-run", "--properties", str(PROPERTIES)],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=DRY_RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-4000:]}"
    assert "CREATE TABLE" in result.stdout
    assert "'type' = 'iceberg-portable'" in result.stdout
    assert "== Optimized Physical Plan ==" in result.stdout

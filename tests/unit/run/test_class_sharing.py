"""The JVM's class-data-sharing archive for local runs (common/run/class_sharing.py): which options
a gateway JVM gets, when a written archive is taken, and that the JVM really maps what is taken.

The archives here are written by a real JVM (``java -XX:ArchiveClassesAtExit ... -version``, about
a second) with PyFlink's class path, so "usable" is the JVM's own verdict, not ours."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from common.run import class_sharing
from common.run.class_sharing import (
    GatewayJvm,
    archive_key,
    jvm_options,
    pending_archive,
    promote_finished,
    writer_file,
)

pytestmark = pytest.mark.jvm


@pytest.fixture(scope="module")
def jvm() -> GatewayJvm:
    return class_sharing.gateway_jvm(dict(os.environ))


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def write_archive(jvm: GatewayJvm, path: Path) -> None:
    subprocess.run(
        [
            jvm.java,
            *jvm.options,
            f"-XX:ArchiveClassesAtExit={path}",
            class_sharing.QUIET,
            "-cp",
            jvm.classpath,
            "-version",
        ],
        check=True,
        capture_output=True,
    )
    assert path.stat().st_size > 0


def test_without_an_archive_the_jvm_is_asked_to_write_one_and_with_it_to_map_it(tmp_path, monkeypatch, jvm):
    monkeypatch.setenv(class_sharing.CACHE_DIR, str(tmp_path))
    options, pending = jvm_options(dict(os.environ))
    archive = tmp_path / f"flink-{archive_key(jvm)}.jsa"
    assert pending == pending_archive(archive, os.getpid())
    assert options.split()[-2:] == [f"-XX:ArchiveClassesAtExit={pending}", class_sharing.QUIET]
    assert options.split()[:-2] == jvm.configured  # FLINK_ENV_JAVA_OPTS replaces them: they stay

    assert jvm_options(dict(os.environ), write=False) is None  # a JVM that only plans writes none

    write_archive(jvm, archive)
    for write in (True, False):  # an archive is mapped by every JVM
        options, pending = jvm_options(dict(os.environ), write=write)
        assert pending is None
        assert options.split()[-3:] == [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto", class_sharing.QUIET]


def test_options_left_by_a_parent_run_are_not_taken_for_configured_ones(tmp_path, monkeypatch, jvm):
    monkeypatch.setenv(class_sharing.CACHE_DIR, str(tmp_path))
    first, _ = jvm_options(dict(os.environ))
    inherited = {**os.environ, class_sharing.JAVA_OPTS: first}
    assert class_sharing.gateway_jvm(inherited).configured == jvm.configured
    again, _ = jvm_options(inherited)
    assert again == first


def test_off_switch_leaves_the_jvm_options_alone(monkeypatch, tmp_path):
    monkeypatch.setenv(class_sharing.CACHE_DIR, str(tmp_path))
    assert jvm_options({**os.environ, class_sharing.SWITCH: "off"}) is None
    assert list(tmp_path.iterdir()) == []


def test_the_key_changes_with_the_class_path_and_the_options(tmp_path, jvm):
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"one")
    base = replace(jvm, classpath=os.pathsep.join([jvm.classpath, str(jar)]))
    key = archive_key(base)
    assert archive_key(base) == key
    jar.write_bytes(b"other")
    assert archive_key(base) != key
    assert archive_key(replace(base, options=[*base.options, "-Xmx2g"])) != archive_key(base)


def test_a_finished_archive_is_taken_only_when_the_jvm_maps_it(tmp_path, jvm):
    archive = tmp_path / "flink-k.jsa"
    good = pending_archive(archive, 111)
    write_archive(jvm, good)
    writer_file(good).write_text(str(dead_pid()))
    broken = pending_archive(archive, 222)
    good_bytes = good.read_bytes()
    broken.write_bytes(good_bytes[: len(good_bytes) // 3])  # a JVM killed while writing
    writer_file(broken).write_text(str(dead_pid()))

    promote_finished(archive, jvm)
    assert archive.read_bytes() == good_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flink-k.jsa"]


def test_an_archive_still_being_written_is_left_alone(tmp_path, jvm):
    archive = tmp_path / "flink-k.jsa"
    writing = pending_archive(archive, 333)
    writing.write_bytes(b"half")
    writer_file(writing).write_text(str(os.getpid()))  # a live JVM
    starting = pending_archive(archive, os.getpid())  # no JVM pid yet, its run is alive
    starting.write_bytes(b"")
    abandoned = pending_archive(archive, dead_pid())  # no JVM pid, its run is gone
    abandoned.write_bytes(b"")

    killed = pending_archive(archive, 444)  # its JVM was killed before writing: only the pid file is left
    writer_file(killed).write_text(str(dead_pid()))
    starts = pending_archive(archive, 555)  # its JVM runs and has not written yet
    writer_file(starts).write_text(str(os.getpid()))

    promote_finished(archive, jvm)
    assert not archive.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            writing.name,
            writer_file(writing).name,
            starting.name,
            writer_file(starts).name,
            class_sharing.refused_file(archive).name,
        ]
    )  # the abandoned one counts as refused


def test_a_broken_archive_is_refused_by_the_jvm(tmp_path, jvm):
    archive = tmp_path / "x.jsa"
    archive.write_bytes(b"\0" * 4096)
    assert not class_sharing.archive_is_usable(jvm, archive)
    write_archive(jvm, archive)
    assert class_sharing.archive_is_usable(jvm, archive)


GATEWAY_ARGS = """
import json, sys
from common.load.properties import load_settings
from common.run import flink_env
from pyflink.java_gateway import get_gateway
flink_env.create_table_env(load_settings(None), "class-sharing", runs_job=sys.argv[1] == "job")
bean = get_gateway().jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
print(json.dumps({"pid": bean.getPid(), "args": list(bean.getInputArguments())}))
"""


def gateway_run(env: dict[str, str], runs: str = "job") -> dict:
    import json

    done = subprocess.run(
        [sys.executable, "-c", GATEWAY_ARGS, runs], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_for_exit(pid: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while class_sharing._pid_alive(pid):
        assert time.monotonic() < deadline, f"JVM {pid} still running"
        time.sleep(0.2)


def test_a_local_run_writes_the_archive_and_the_next_one_maps_it(tmp_path):
    env = {**os.environ, class_sharing.CACHE_DIR: str(tmp_path / "cache"), "FLINK_CHECKPOINT_DIR": str(tmp_path)}
    env.pop(class_sharing.JAVA_OPTS, None)
    planning = gateway_run(env, runs="plans")  # without an archive, a planning-only JVM writes none
    assert not any(a.startswith(("-XX:ArchiveClassesAtExit=", "-XX:SharedArchiveFile")) for a in planning["args"])
    first = gateway_run(env)
    written = [a for a in first["args"] if a.startswith("-XX:ArchiveClassesAtExit=")]
    assert len(written) == 1 and not any(a.startswith("-XX:SharedArchiveFile=") for a in first["args"])
    pending = Path(written[0].split("=", 1)[1])
    assert writer_file(pending).read_text() == str(first["pid"])
    wait_for_exit(first["pid"])  # it writes the archive as it exits, after its Python process
    assert pending.stat().st_size > 0

    second = gateway_run(env)
    archives = [p.name for p in (tmp_path / "cache").iterdir()]
    assert archives == [pending.name.split(".")[0] + ".jsa"]  # taken, renamed, the pid file gone
    assert f"-XX:SharedArchiveFile={tmp_path / 'cache' / archives[0]}" in second["args"]
    assert "-Xshare:auto" in second["args"] and not any("ArchiveClassesAtExit" in a for a in second["args"])


def test_only_the_newest_archives_are_kept(tmp_path):
    for age, name in enumerate(["flink-a.jsa", "flink-b.jsa", "flink-c.jsa", "flink-d.jsa"]):
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "flink-e.jsa.1.tmp").write_bytes(b"x")
    class_sharing.prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flink-a.jsa", "flink-b.jsa", "flink-e.jsa.1.tmp"]


def test_a_jvm_that_cannot_write_an_archive_is_not_asked_to(tmp_path, monkeypatch, jvm):
    # Without the JDK's base archive (here: -Xshare:off) a JVM refuses to start with
    # -XX:ArchiveClassesAtExit at all: the run must then start its JVM as PyFlink would.
    monkeypatch.setenv(class_sharing.CACHE_DIR, str(tmp_path))
    assert class_sharing.can_write_archive(jvm, tmp_path / "probe.jsa")
    assert not class_sharing.can_write_archive(replace(jvm, options=[*jvm.options, "-Xshare:off"]), tmp_path / "p")
    assert jvm_options({**os.environ, "JVM_ARGS": "-Xshare:off"}) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the probes leave nothing


def test_after_three_refused_archives_a_key_writes_no_more(tmp_path, jvm):
    archive = tmp_path / "flink-k.jsa"
    for attempt in range(1, class_sharing.MAX_REFUSED + 1):
        assert class_sharing.may_write(archive, jvm)
        broken = pending_archive(archive, 600 + attempt)
        broken.write_bytes(b"\0" * 1024)
        writer_file(broken).write_text(str(dead_pid()))
        promote_finished(archive, jvm)
        assert class_sharing.refused_file(archive).read_text() == str(attempt)
    assert not class_sharing.may_write(archive, jvm)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flink-k.jsa.refused"]

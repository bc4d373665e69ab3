"""Local runs: a class-data-sharing (CDS) archive for PyFlink's JVM, written by one run, mapped by the next.

Why: every local run starts a cold JVM that loads, parses and verifies the same few thousand
classes (Flink's runtime and table API, the mini cluster, Kafka, Iceberg) before it does any
work. Java 17 can write the classes a JVM loaded to a dynamic archive when it exits
(``-XX:ArchiveClassesAtExit``) and map that archive at the next start (``-XX:SharedArchiveFile``).
Measured (benchmarks/bench_startup.py, one pipeline): process start -> job RUNNING 10.2 s and
9.7 s without, 7.4 s and 7.2 s with. Java 19's ``-XX:+AutoCreateSharedArchive`` does this in one
flag; Java 17, the project's, does not, hence this module.

Rules:

- One archive per JVM: its name carries a digest of the java binary, the class path (each
  jar's size and time) and the JVM options, so another JDK, Flink or option makes a new one.
  The JVM itself also checks the archive against its class path and refuses a stale one
  (``-Xshare:auto``: it then runs without), so a wrong archive costs time, never correctness.
- A run that finds no archive asks its JVM to write one, to a name of its own
  (``<archive>.<pid>.tmp``), at exit; the JVM writes it after this process has gone (a few
  seconds, 150-200 MB), so the JVM's pid is kept beside it (``.jvm``). A later run takes a
  finished one (that JVM gone) only if ``java -Xshare:on ... -version`` can map it (it fails
  otherwise, e.g. on half a file from a killed JVM), renames it into place, else deletes it;
  after three refused, no run of that key writes again. A run writes only if a JVM with the
  option starts (``java -XX:ArchiveClassesAtExit ... -version``): without the JDK's base
  archive the JVM refuses to start with it at all.
- Only a run that executes a job writes one (a planning-only JVM would leave out the runtime).
- Only where PyFlink starts the JVM (local runs), and not at all with ``STREAMING_JOB_CDS=off``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SWITCH = "STREAMING_JOB_CDS"  # "off": no archive is used or written
CACHE_DIR = "STREAMING_JOB_CACHE_DIR"  # where archives go (default: $XDG_CACHE_HOME or ~/.cache, /streaming-job)
JAVA_OPTS = "FLINK_ENV_JAVA_OPTS"  # PyFlink's variable: replaces the configured JVM options when set
QUIET = "-Xlog:cds*=off"  # the archive's notes (skipped classes, mismatches) stay off the console
CHECK_TIMEOUT_S = 60
KEEP_ARCHIVES = 3  # about 200 MB each
MAX_REFUSED = 3  # archives of one key the check refused (a JVM killed while writing, a failing dump): then no more
_write = False  # use_class_sharing's last word: may the JVM PyFlink starts next write an archive
OWN_OPTIONS = ("-XX:SharedArchiveFile=", "-XX:ArchiveClassesAtExit=", "-Xshare:", "-Xlog:cds")


def cache_dir() -> Path:
    if os.environ.get(CACHE_DIR):
        return Path(os.environ[CACHE_DIR])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "streaming-job"


@dataclass(frozen=True)
class GatewayJvm:
    """How PyFlink's launcher will start the JVM (pyflink_gateway_server.launch_gateway_server_process)."""

    java: str
    configured: list[str]  # the configured JVM options (env.java.opts.*), or FLINK_ENV_JAVA_OPTS if set
    options: list[str]  # everything before -cp but the log settings, as the launcher orders them
    classpath: str


def gateway_jvm(launch_env: dict[str, str]) -> GatewayJvm:
    """Read with PyFlink's own helpers, so the archive matches the JVM they start."""
    from pyflink import pyflink_gateway_server as gateway

    env = dict(launch_env)
    gateway.prepare_environment_variables(env)
    configured = [o for o in gateway.get_jvm_opts(env) if not o.startswith(OWN_OPTIONS)]
    options = [
        *env.get("JVM_ARGS", "").split(),
        "-XX:+IgnoreUnrecognizedVMOptions",
        "--add-opens=jdk.proxy2/jdk.proxy2=ALL-UNNAMED",
        *configured,
    ]
    classpath = os.pathsep.join([gateway.construct_flink_classpath(env), gateway.construct_hadoop_classpath(env)])
    return GatewayJvm(gateway.find_java_executable(), configured, options, classpath)


def archive_key(jvm: GatewayJvm) -> str:
    """A digest of everything an archive is only valid for."""
    digest = hashlib.sha256()
    java_path = Path(os.path.realpath(shutil.which(jvm.java) or jvm.java))
    for part in [java_path, *[Path(p) for p in jvm.classpath.split(os.pathsep) if p]]:
        stat = part.stat() if part.exists() else None
        digest.update(f"{part}\0{stat.st_size if stat else -1}\0{stat.st_mtime_ns if stat else -1}\n".encode())
    digest.update("\0".join(jvm.options).encode())
    return digest.hexdigest()[:16]


def _jvm_starts(jvm: GatewayJvm, *sharing: str) -> bool:
    """True if ``java <options> <sharing> -cp <class path> -version`` exits 0. A JVM given a truncated
    archive can crash while mapping it: its crash report goes nowhere, not into the run's folder."""
    command = [jvm.java, *jvm.options, *sharing, QUIET, f"-XX:ErrorFile={os.devnull}", "-cp", jvm.classpath, "-version"]
    try:
        return subprocess.run(command, capture_output=True, timeout=CHECK_TIMEOUT_S).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def archive_is_usable(jvm: GatewayJvm, archive: Path) -> bool:
    """True if a JVM with these options and class path maps the archive (-Xshare:on fails otherwise)."""
    return _jvm_starts(jvm, f"-XX:SharedArchiveFile={archive}", "-Xshare:on")


def can_write_archive(jvm: GatewayJvm, probe: Path) -> bool:
    """True if a JVM with these options starts with -XX:ArchiveClassesAtExit: one that cannot map
    the JDK's base archive (a JDK without one, -Xshare:off) refuses to start with it at all."""
    try:
        return _jvm_starts(jvm, f"-XX:ArchiveClassesAtExit={probe}")
    finally:
        probe.unlink(missing_ok=True)


def refused_file(archive: Path) -> Path:
    """How many archives written for this key the check refused."""
    return archive.with_name(archive.name + ".refused")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pending_archive(archive: Path, pid: int) -> Path:
    """Where the JVM of process ``pid`` writes its archive at exit."""
    return archive.with_name(f"{archive.name}.{pid}.tmp")


def writer_file(pending: Path) -> Path:
    """Holds the pid of the JVM writing ``pending``: it writes after this process has exited."""
    return pending.with_name(pending.name + ".jvm")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def promote_finished(archive: Path, jvm: GatewayJvm) -> None:
    """Move an archive a finished JVM wrote into place if the JVM can map it; delete it otherwise."""
    for pending in sorted(archive.parent.glob(f"{archive.name}.*.tmp")):
        writer = writer_file(pending)
        owner = pending.name[len(archive.name) + 1 : -len(".tmp")]
        jvm_pid = _read_int(writer)
        if jvm_pid is not None and _pid_alive(jvm_pid):
            continue  # still writing
        if jvm_pid is None and owner.isdigit() and _pid_alive(int(owner)):
            continue  # its JVM is starting
        if archive.exists():
            pending.unlink(missing_ok=True)
        elif archive_is_usable(jvm, pending):
            pending.replace(archive)
            refused_file(archive).unlink(missing_ok=True)
            log.debug("class-data-sharing archive ready: %s", archive)
            prune(archive.parent)
        else:
            pending.unlink(missing_ok=True)
            refused_file(archive).write_text(str((_read_int(refused_file(archive)) or 0) + 1))
        writer.unlink(missing_ok=True)
    for writer in archive.parent.glob(f"{archive.name}.*.tmp.jvm"):  # its JVM was killed before writing
        pending = writer.with_name(writer.name[: -len(".jvm")])
        if not pending.exists() and not _pid_alive(_read_int(writer) or 0):  # no pid: nobody
            writer.unlink(missing_ok=True)


def prune(folder: Path, keep: int = KEEP_ARCHIVES) -> None:
    """Delete all but the newest archives: one per Flink install and JDK is all a machine uses."""
    archives = sorted(folder.glob("flink-*.jsa"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in archives[keep:]:
        old.unlink(missing_ok=True)


def may_write(archive: Path, jvm: GatewayJvm) -> bool:
    """Whether this run's JVM should write the archive: not after MAX_REFUSED refused ones, and
    only if the JVM starts with the option (checked then, about a second, until one exists)."""
    if (_read_int(refused_file(archive)) or 0) >= MAX_REFUSED:
        return False
    return can_write_archive(jvm, archive.with_name(f"{archive.name}.{os.getpid()}.probe"))


def sharing_options(archive: Path, pending: Path | None) -> list[str]:
    """Map the archive; or, with ``pending``, have this JVM write one there at exit."""
    if pending is None:
        return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto", QUIET]
    return [f"-XX:ArchiveClassesAtExit={pending}", QUIET]


def jvm_options(env: dict[str, str], write: bool = True) -> tuple[str, Path | None] | None:
    """FLINK_ENV_JAVA_OPTS for the gateway JVM PyFlink is about to start with ``env`` (the configured
    options and the archive's) and the archive that JVM will write, if any; None: leave them be.
    ``write``: without an archive, have this JVM write one (only a JVM that runs a job should)."""
    if env.get(SWITCH, "").lower() == "off":
        return None
    try:
        jvm = gateway_jvm(env)
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        archive = folder / f"flink-{archive_key(jvm)}.jsa"
        promote_finished(archive, jvm)
    except OSError as exc:  # no cache folder, no java: run without, as PyFlink would
        log.debug("no class-data sharing: %s", exc)
        return None
    if not archive.exists() and not (write and may_write(archive, jvm)):
        return None
    pending = None if archive.exists() else pending_archive(archive, os.getpid())
    extra = sharing_options(archive, pending)
    log.debug("class-data sharing: %s", " ".join(extra))
    # FLINK_ENV_JAVA_OPTS replaces the configured options, so it carries them too.
    return " ".join([*jvm.configured, *extra]), pending


def use_class_sharing(write: bool) -> None:
    """Have PyFlink start its JVM with the archive's options (before the JVM starts; idempotent).

    ``write``: this process runs a job, so its JVM may write the archive if there is none. A JVM
    that only plans (``--validate``, tests) would write one without the runtime's classes, and
    every later run would map that instead of a whole one.

    PyFlink's launcher is wrapped, as for the console (common/run/console.py), so the options
    reach the gateway JVM only: never this process's environment, which other JVMs (a Flink
    cluster's scripts read FLINK_ENV_JAVA_OPTS too) and child processes would inherit."""
    global _write
    from pyflink import java_gateway

    _write = write
    launch = java_gateway.launch_gateway_server_process
    if getattr(launch, "shares_classes", False):
        return

    @functools.wraps(launch)  # keeps the console wrapper's mark, and it keeps ours
    def launch_with_archive(env, args):
        chosen = jvm_options(env, _write)
        if chosen is None:
            return launch(env, args)
        env[JAVA_OPTS], pending = chosen
        process = launch(env, args)
        if pending is not None:
            writer_file(pending).write_text(str(process.pid))
        return process

    launch_with_archive.shares_classes = True  # type: ignore[attr-defined]
    java_gateway.launch_gateway_server_process = launch_with_archive

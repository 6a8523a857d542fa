"""The two JVM components of the local stack: a KRaft Kafka broker and an Elasticsearch node."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx

from borderhub.settings import Settings
from borderhub.stack import jvm
from borderhub.stack.process import Detached


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Component:
    name: str

    def __init__(self, settings: Settings, progress=print):
        self.settings = settings
        self.progress = progress
        self.dir = settings.state_dir / self.name
        self.proc = Detached(self.name, settings.run_dir / f"{self.name}.pid", settings.logs_dir / f"{self.name}.log")

    # Overridden per component
    address: str
    version: str = "unknown"

    def prepare(self) -> None: ...
    def launch(self) -> None: ...
    def healthy(self) -> bool: ...

    def up(self) -> bool:
        """Start unless already running. True if it was started now."""
        if self.healthy():  # ours, or one already serving this address: either way, up
            return False
        self.prepare()
        if self.proc.pid() is None:
            self.ensure_ports_free()
            self.launch()
        self.wait_healthy()
        return True

    def ensure_ports_free(self) -> None:
        for port in self.ports():
            if port_open("127.0.0.1", port):
                raise jvm.StackError(f"port {port} needed by {self.name} is taken by another process; "
                                     f"stop it or change the port setting (see README, Settings)")

    def ports(self) -> list[int]:
        return []

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + self.settings.stack_start_timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            if self.proc.pid() is None:
                raise jvm.StackError(f"{self.name} exited while starting; see {self.proc.log_file}\n"
                                     + tail(self.proc.log_file))
            time.sleep(1.0)
        raise jvm.StackError(f"{self.name} did not answer within {self.settings.stack_start_timeout:.0f} s; "
                             f"see {self.proc.log_file}")

    def down(self) -> bool:
        return self.proc.stop(timeout=60)

    def status(self) -> dict:
        pid = self.proc.pid()  # None while running too, when another state dir or host started it
        state = "running" if self.healthy() else ("starting_or_unhealthy" if pid else "stopped")
        return {"state": state, "version": self.version, "address": self.address, "pid": pid,
                "log": str(self.proc.log_file)}


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


class Kafka(Component):
    name = "kafka"

    def __init__(self, settings: Settings, progress=print):
        super().__init__(settings, progress)
        self.address = f"localhost:{settings.kafka_port}"
        self.version = jvm.pom_version(jvm.DEPLOY_DIR / "kafka" / "pom.xml")

    def ports(self) -> list[int]:
        return [self.settings.kafka_port, self.settings.kafka_controller_port]

    def prepare(self) -> None:
        self.classpath, self.version = jvm.kafka_classpath(self.settings, self.progress)
        s = self.settings
        data = self.dir / "data"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "server.properties"
        self.config.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@localhost:{s.kafka_controller_port}",
            f"listeners=PLAINTEXT://localhost:{s.kafka_port},CONTROLLER://localhost:{s.kafka_controller_port}",
            f"advertised.listeners=PLAINTEXT://localhost:{s.kafka_port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data}",
            "num.partitions=3",
            # One broker: internal topics cannot have more replicas than brokers.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "log.retention.hours=168",
            "",
        ]))
        log4j = self.dir / "log4j2.properties"
        log4j.write_text("\n".join([
            "rootLogger.level=INFO",
            "rootLogger.appenderRef.stdout.ref=STDOUT",
            "appender.stdout.type=Console",
            "appender.stdout.name=STDOUT",
            "appender.stdout.layout.type=PatternLayout",
            "appender.stdout.layout.pattern=[%d] %p %m (%c)%n",
            "logger.kafka.name=kafka", "logger.kafka.level=INFO",
            "logger.state.name=state.change.logger", "logger.state.level=WARN",
            "",
        ]))
        self.log4j = log4j
        if not (data / "meta.properties").exists():
            # KRaft storage is formatted once with a cluster id; later starts reuse it.
            self.progress("formatting Kafka storage (first start) ...")
            result = subprocess.run(
                [jvm.java_binary(s), "-cp", self.classpath, f"-Dlog4j2.configurationFile={log4j}",
                 "kafka.tools.StorageTool", "format", "-t", _kafka_cluster_id(), "-c", str(self.config)],
                capture_output=True, text=True)
            if result.returncode != 0:
                raise jvm.StackError(f"Kafka storage format failed:\n{result.stdout}{result.stderr}")

    def launch(self) -> None:
        s = self.settings
        self.progress(f"starting Kafka {self.version} on {self.address} ...")
        self.proc.start([
            jvm.java_binary(s), f"-Xms{s.kafka_heap}", f"-Xmx{s.kafka_heap}", "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j}", f"-Dkafka.logs.dir={self.dir / 'logs'}",
            "-cp", self.classpath, "kafka.Kafka", str(self.config),
        ])

    def healthy(self) -> bool:
        if not port_open("127.0.0.1", self.settings.kafka_port):
            return False
        # The port opens before the broker can serve metadata; ask for it.
        from kafka import KafkaAdminClient
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.address, request_timeout_ms=3000)
        except Exception:
            return False
        try:
            admin.describe_cluster()
            return True
        except Exception:
            return False
        finally:
            admin.close()


def _kafka_cluster_id() -> str:
    # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
    import base64
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class Elasticsearch(Component):
    name = "elasticsearch"

    def __init__(self, settings: Settings, progress=print):
        super().__init__(settings, progress)
        self.address = f"http://localhost:{settings.es_port}"
        self.version = jvm.pom_version(jvm.DEPLOY_DIR / "elasticsearch" / "pom.xml")

    def ports(self) -> list[int]:
        return [self.settings.es_port, self.settings.es_transport_port]

    def prepare(self) -> None:
        s = self.settings
        self.home, self.version = jvm.elasticsearch_home(s, self.progress)
        self.run_as = self._unprivileged_user() if os.geteuid() == 0 else None
        if self.run_as:
            self._reachable_by_run_user()
        self.conf = self.dir / "config"
        self.conf.mkdir(parents=True, exist_ok=True)
        for name in ("jvm.options", "log4j2.properties"):
            shutil.copy(self.home / "config" / name, self.conf / name)
        (self.conf / "jvm.options.d").mkdir(exist_ok=True)
        (self.conf / "elasticsearch.yml").write_text("\n".join([
            "cluster.name: borderhub",
            "node.name: borderhub-local",
            f"path.data: {self.dir / 'data'}",
            f"path.logs: {self.dir / 'logs'}",
            "network.host: 127.0.0.1",
            f"http.port: {s.es_port}",
            f"transport.port: {s.es_transport_port}",
            "discovery.type: single-node",
            # Authentication and roles are enforced by the borderhub APIs; the node listens on
            # loopback only. Production clusters enable Elasticsearch security as well.
            "xpack.security.enabled: false",
            # Shared development disks are often nearly full; do not turn indices read-only.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            "action.destructive_requires_name: true",
            "",
        ]))
        for sub in ("data", "logs", "tmp"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        if self.run_as:
            uid, gid = self.run_as
            for path in [self.dir, *self.dir.rglob("*")]:
                os.lchown(path, uid, gid)

    def _reachable_by_run_user(self) -> None:
        """The unprivileged user must reach the node's files. Under a private directory (a
        checkout in /root, say) the distribution is copied to /opt and the node's state lives in
        /var/lib, linked from the state directory so it still holds everything."""
        if not _traversable(self.home):
            shared = Path("/opt/borderhub") / self.home.name
            if not (shared / "bin" / "elasticsearch").exists():
                self.progress(f"copying Elasticsearch to {shared} (the checkout is private) ...")
                shutil.rmtree(shared, ignore_errors=True)
                shutil.copytree(self.home, shared, symlinks=True)
                _open_parents(shared)
            self.home = shared
        if not self.dir.is_symlink() and not _traversable(self.dir.parent):
            import hashlib
            outside = Path("/var/lib/borderhub") / hashlib.sha1(str(self.dir).encode()).hexdigest()[:12]
            outside.mkdir(parents=True, exist_ok=True)
            _open_parents(outside)
            if self.dir.exists():
                for child in self.dir.iterdir():
                    shutil.move(str(child), outside / child.name)
                self.dir.rmdir()
            self.dir.parent.mkdir(parents=True, exist_ok=True)
            self.dir.symlink_to(outside, target_is_directory=True)
        self.dir = self.dir.resolve()

    def _unprivileged_user(self) -> tuple[int, int]:
        # Elasticsearch refuses to run as root; a system user without a login runs it instead.
        user = self.settings.es_run_user
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            self.progress(f"creating system user '{user}' to run Elasticsearch (it refuses root) ...")
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                           check=True, capture_output=True)
            entry = pwd.getpwnam(user)
        return entry.pw_uid, entry.pw_gid

    def launch(self) -> None:
        s = self.settings
        self.progress(f"starting Elasticsearch {self.version} on {self.address} ...")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": jvm.java_home(s),
            "ES_PATH_CONF": str(self.conf),
            "ES_TMPDIR": str(self.dir / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{s.es_heap} -Xmx{s.es_heap}",
            "HOME": str(self.dir),
            "LANG": "C.UTF-8",
        }
        preexec = None
        if self.run_as:
            uid, gid = self.run_as

            def preexec() -> None:
                os.setgroups([gid])
                os.setgid(gid)
                os.setuid(uid)
        # The CLI launcher starts the server JVM as its child; we supervise the launcher, which
        # stops the server when it receives SIGTERM.
        self.proc.start([str(self.home / "bin" / "elasticsearch")], env=env, cwd=self.dir, preexec=preexec)

    def healthy(self) -> bool:
        try:
            r = httpx.get(f"{self.address}/_cluster/health", params={"wait_for_status": "yellow", "timeout": "1s"},
                          timeout=3)
            return r.status_code == 200 and r.json().get("status") in ("yellow", "green")
        except (httpx.HTTPError, ValueError):
            return False


def _traversable(path: Path) -> bool:
    """Every directory from / down to ``path`` lets other users through."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [*reversed(path.parents), path] if p.exists())


def _open_parents(path: Path) -> None:
    for p in [*reversed(path.parents), path]:
        os.chmod(p, os.stat(p).st_mode | 0o005)


def components(settings: Settings, progress=print) -> list[Component]:
    return [Kafka(settings, progress), Elasticsearch(settings, progress)]


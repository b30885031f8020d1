"""docker-compose.yml and Dockerfile agree with each other and with the settings model.

No docker engine runs here, so the files are read the way `docker compose config` and
`docker build` would read them, and checked against Ember's own rules: the worker's
``EMBER_*`` environment is a valid :class:`ember.Settings`, its addresses
name the services that serve them, and services start in order.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from ember.workflows.settings import Settings
from ember.workflows.startup import load_domain
from ember.workflows.worker import DRAIN_TIMEOUT, EmberWorker

INTERNAL_PACKAGES = ("registry", "activities", "workflows")
ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
REQUIRED = ("EMBER_APP", "EMBER_DATABASE_URL", "EMBER_TEMPORAL_ADDRESS")
INITDB = "/docker-entrypoint-initdb.d"
POSTGRES_PORT = 5432  # what the postgres image listens on in its container
TEMPORAL_PORT = 7233  # the Temporal frontend's gRPC port in the auto-setup image


# --- reading compose the way docker compose does ------------------------------------------


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, from the mapping or the ``KEY=VALUE`` list form."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.partition("=")[::2] for item in raw)
    return {str(key): str(value) for key, value in raw.items()}


def service_named(image_prefix: str) -> str:
    """The one service whose image starts with ``image_prefix``."""
    names = [n for n, s in SERVICES.items() if str(s.get("image", "")).startswith(image_prefix)]
    assert len(names) == 1, f"expected one service with image {image_prefix}*, found {names}"
    return names[0]


def ports(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, published port, container port) of each published port."""
    found = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ip, published, target = entry.get("host_ip", ""), entry["published"], entry["target"]
        else:
            parts = str(entry).split("/")[0].split(":")
            ip = parts[0] if len(parts) == 3 else ""
            published, target = (parts[-2], parts[-1]) if len(parts) > 1 else (parts[0],) * 2
        found.append((ip, int(published), int(target)))
    return found


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    found = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            found.append((str(entry.get("source", "")), str(entry["target"])))
        else:
            source, _, rest = str(entry).partition(":")
            found.append((source, rest.split(":")[0]) if rest else ("", source))
    return found


def dependencies(service: dict[str, Any]) -> dict[str, str]:
    """Service name -> start condition (the list form means service_started)."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: "service_started" for name in raw}
    return {name: rule.get("condition", "service_started") for name, rule in raw.items()}


def seconds(duration: str) -> float:
    """A compose duration such as ``45s`` or ``1m30s`` in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, f"expected a duration such as 45s, found {duration!r}"
    return sum(float(amount) * units[unit] for amount, unit in parts)


def is_one_shot(service: dict[str, Any]) -> bool:
    """A service that runs to completion (restart "no") rather than staying up."""
    return service.get("restart", "no") in ("no", False)  # YAML 1.1 reads a bare no as False


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def instruction(name: str) -> str:
    """The arguments of the last ``name`` instruction (the one that takes effect)."""
    found = [arguments for keyword, arguments in dockerfile() if keyword == name]
    assert found, f"Dockerfile: expected a {name} instruction, found none"
    return found[-1]


WORKER = SERVICES["worker"]
WORKER_ENV = environment(WORKER)
POSTGRES = service_named("postgres:")
TEMPORAL = service_named("temporalio/auto-setup:")
UI = service_named("temporalio/ui:")


# --- the services --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_pinned_image_or_a_build_that_exists(name: str) -> None:
    service = SERVICES[name]
    assert "image" in service or "build" in service, (
        f"{name}: expected image or build, found only {sorted(service)}"
    )
    if "build" in service:
        build = service["build"]
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        file = context / ("Dockerfile" if isinstance(build, str) else build["dockerfile"])
        assert file.is_file(), f"{name}: expected its Dockerfile at {file}, found no file"
    else:
        tag = str(service["image"]).rpartition(":")[2]
        assert ":" in service["image"] and tag != "latest", (
            f"{name}: expected an image with a pinned tag, found {service['image']!r}"
        )


def test_the_worker_builds_from_the_repository_dockerfile() -> None:
    build = WORKER.get("build")
    assert isinstance(build, dict), f"worker: expected a build section, found {build!r}"
    found = (ROOT / build.get("context", ".")).resolve() / build.get("dockerfile", "Dockerfile")
    assert found == ROOT / "Dockerfile", f"worker: expected {ROOT / 'Dockerfile'}, found {found}"
    command = WORKER.get("command", json.loads(instruction("CMD")))
    assert command == ["run"], f"worker: expected the command ['run'], found {command!r}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_restart_policies(name: str) -> None:
    restart = SERVICES[name].get("restart")
    allowed = {"no", "always", "unless-stopped", "on-failure"}
    assert restart in allowed, (
        f'{name}: expected restart in {sorted(allowed)} (quote "no"), found {restart!r}'
    )
    if name in (POSTGRES, TEMPORAL, UI, "worker"):
        assert restart != "no", f"{name}: expected a restart policy that restarts, found 'no'"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_exist_and_wait_for_readiness(name: str) -> None:
    for dependency, condition in dependencies(SERVICES[name]).items():
        assert dependency in SERVICES, (
            f"{name}: expected depends_on to name one of {sorted(SERVICES)}, found {dependency!r}"
        )
        if is_one_shot(SERVICES[dependency]):
            expected = "service_completed_successfully"
        else:
            expected = "service_healthy"
            assert "healthcheck" in SERVICES[dependency], (
                f"{dependency}: expected a healthcheck ({name} waits for it), found none"
            )
        assert condition == expected, (
            f"{name}: expected depends_on {dependency} with condition {expected}, found {condition}"
        )


def test_the_worker_starts_after_postgres_and_temporal_and_temporal_after_postgres() -> None:
    for name, needed in (
        ("worker", {POSTGRES, TEMPORAL}),
        (TEMPORAL, {POSTGRES}),
        (UI, {TEMPORAL}),
    ):
        found = set(dependencies(SERVICES[name]))
        assert needed <= found, (
            f"{name}: expected depends_on {sorted(needed)}, found {sorted(found)}"
        )


@pytest.mark.parametrize("name", sorted(s for s in SERVICES if "healthcheck" in SERVICES[s]))
def test_healthchecks_are_commands(name: str) -> None:
    test = SERVICES[name]["healthcheck"].get("test")
    assert isinstance(test, list) and test[:1] in (["CMD"], ["CMD-SHELL"]) and len(test) > 1, (
        f"{name}: expected healthcheck test [CMD, ...] or [CMD-SHELL, ...], found {test!r}"
    )


def test_published_ports_are_unique() -> None:
    published = [port for service in SERVICES.values() for _, port, _ in ports(service)]
    twice = sorted({port for port in published if published.count(port) > 1})
    assert not twice, f"expected each host port published once, found {twice} more than once"


def test_volumes_are_declared_and_bind_mounts_exist() -> None:
    declared = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for source, target in mounts(service):
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: expected {source} to exist, found none"
            elif source:
                assert source in declared, (
                    f"{name}: expected volume {source!r} under top-level volumes, "
                    f"found {sorted(declared)}"
                )
            assert target.startswith("/"), f"{name}: expected an absolute target, found {target}"


# --- the worker's settings -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_environment_values_are_strings(name: str) -> None:
    raw = SERVICES[name].get("environment") or {}
    values = raw.values() if isinstance(raw, dict) else []
    wrong = [value for value in values if isinstance(value, bool) or value is None]
    assert not wrong, f"{name}: expected string or number values (quote them), found {wrong}"


def test_worker_environment_names_settings_fields() -> None:
    fields = {f"EMBER_{name.upper()}" for name in Settings.model_fields}
    ember = {key for key in WORKER_ENV if key.startswith("EMBER_")}
    assert ember <= fields, (
        f"worker: expected only Settings fields {sorted(fields)}, found {sorted(ember - fields)}"
    )
    missing = [key for key in REQUIRED if key not in WORKER_ENV]
    assert not missing, f"worker: expected {list(REQUIRED)} in its environment, missing {missing}"


def test_the_connection_and_signing_settings_are_shown_ready_to_uncomment() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    commented = set(re.findall(r"^\s*# (EMBER_[A-Z_]+):", text, flags=re.MULTILINE))
    wanted = {
        f"EMBER_{name.upper()}"
        for name in Settings.model_fields
        if name.startswith("temporal_tls") or name in ("temporal_api_key", "actor_signing_key")
    }
    assert wanted <= commented, f"expected placeholders for {sorted(wanted - commented)}"
    fields = {f"EMBER_{name.upper()}" for name in Settings.model_fields}
    assert commented <= fields, f"not settings: {sorted(commented - fields)}"


def test_worker_environment_is_accepted_by_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [key for key in os.environ if key.startswith("EMBER_")]:
        monkeypatch.delenv(key)  # only what the container gets
    for key, value in WORKER_ENV.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # as worker.py reads it in the container
    domain = load_domain(settings.app)
    worker = EmberWorker(domain, settings)
    assert set(worker.queues) >= domain.queues, (
        f"EMBER_QUEUES: expected every queue of {settings.app} {sorted(domain.queues)}, "
        f"found {sorted(worker.queues)}"
    )
    domain.validate(queues=worker.queues)  # what the worker checks before connecting


def test_worker_reaches_temporal_at_its_service_and_namespace() -> None:
    expected = f"{TEMPORAL}:{TEMPORAL_PORT}"
    found = WORKER_ENV["EMBER_TEMPORAL_ADDRESS"]
    assert found == expected, f"EMBER_TEMPORAL_ADDRESS: expected {expected}, found {found}"
    ui = environment(SERVICES[UI]).get("TEMPORAL_ADDRESS")
    assert ui == expected, f"{UI}: expected TEMPORAL_ADDRESS={expected}, found {ui}"
    server = environment(SERVICES[TEMPORAL])
    own = server.get("TEMPORAL_ADDRESS", expected)
    assert own == expected, f"{TEMPORAL}: expected TEMPORAL_ADDRESS={expected}, found {own}"
    namespace = WORKER_ENV.get("EMBER_TEMPORAL_NAMESPACE", "default")
    created = server.get("DEFAULT_NAMESPACE", "default")
    assert namespace == created, (
        f"EMBER_TEMPORAL_NAMESPACE: expected the namespace auto-setup creates ({created}), "
        f"found {namespace}"
    )
    check = " ".join(SERVICES[TEMPORAL].get("healthcheck", {}).get("test", []))
    assert namespace in check and expected in check, (
        f"{TEMPORAL}: expected a healthcheck asking {expected} for namespace {namespace}, "
        f"found {check!r}"
    )


def test_temporal_stores_its_data_in_the_postgres_service() -> None:
    server, database = environment(SERVICES[TEMPORAL]), environment(SERVICES[POSTGRES])
    expected = {
        "DB": "postgres12",
        "DB_PORT": str(POSTGRES_PORT),
        "POSTGRES_SEEDS": POSTGRES,
        "POSTGRES_USER": database.get("POSTGRES_USER", "postgres"),
        "POSTGRES_PWD": database.get("POSTGRES_PASSWORD"),
    }
    found = {key: server.get(key) for key in expected}
    assert found == expected, f"{TEMPORAL}: expected {expected}, found {found}"


def init_scripts() -> str:
    """The SQL the postgres service runs when its volume is first initialised."""
    texts = []
    for source, target in mounts(SERVICES[POSTGRES]):
        if target.startswith(INITDB) and source.startswith("."):
            path = ROOT / source
            texts += [p.read_text() for p in sorted(path.glob("*.sql"))] if path.is_dir() else []
            texts += [path.read_text()] if path.is_file() else []
    assert texts, f"{POSTGRES}: expected an SQL script mounted under {INITDB}, found none"
    return "\n".join(texts)


@pytest.mark.parametrize(
    "name", sorted(s for s in SERVICES if "EMBER_DATABASE_URL" in environment(SERVICES[s]))
)
def test_database_url_is_the_postgres_service_and_a_database_the_init_script_creates(
    name: str,
) -> None:
    raw = environment(SERVICES[name])["EMBER_DATABASE_URL"]
    url = make_url(raw)
    assert url.drivername == "postgresql+psycopg", (
        f"{name}: EMBER_DATABASE_URL: expected postgresql+psycopg://, found {url.drivername}://"
    )
    found = f"{url.host}:{url.port or POSTGRES_PORT}"
    assert found == f"{POSTGRES}:{POSTGRES_PORT}", (
        f"{name}: EMBER_DATABASE_URL: expected host {POSTGRES}:{POSTGRES_PORT}, found {found}"
    )
    sql = init_scripts()
    databases = re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)", sql, re.IGNORECASE)
    assert url.database in databases, (
        f"{name}: EMBER_DATABASE_URL: expected a database the init script creates "
        f"{databases}, found {url.database!r}"
    )
    superuser = environment(SERVICES[POSTGRES])
    roles = dict(
        re.findall(r"CREATE\s+(?:ROLE|USER)\s+\"?(\w+)\"?[^;]*?PASSWORD\s+'([^']*)'", sql, re.I)
    )
    roles[superuser.get("POSTGRES_USER", "postgres")] = superuser.get("POSTGRES_PASSWORD", "")
    assert roles.get(str(url.username)) == url.password, (
        f"{name}: EMBER_DATABASE_URL: expected a user and password of {sorted(roles)} as "
        f"created, found user {url.username!r} with another password"
    )
    assert raw == WORKER_ENV["EMBER_DATABASE_URL"], (
        f"{name}: expected the worker's database {WORKER_ENV['EMBER_DATABASE_URL']}, found {raw}"
    )


def test_metrics_are_published_from_all_interfaces() -> None:
    host, _, port = WORKER_ENV.get("EMBER_METRICS_BIND", "").rpartition(":")
    assert host in ("0.0.0.0", "[::]"), (
        f"EMBER_METRICS_BIND: expected 0.0.0.0:<port> (reachable from outside the container), "
        f"found {WORKER_ENV.get('EMBER_METRICS_BIND')!r}"
    )
    targets = [target for _, _, target in ports(WORKER)]
    assert int(port) in targets, f"worker: expected port {port} published, found {targets}"
    check = " ".join(WORKER.get("healthcheck", {}).get("test", []))
    assert f":{port}/" in check, f"worker: expected a healthcheck on :{port}, found {check!r}"


def test_the_worker_may_drain_before_it_is_killed() -> None:
    grace = seconds(str(WORKER.get("stop_grace_period", "10s")))
    drain = DRAIN_TIMEOUT.total_seconds()
    assert grace > drain, (
        f"worker: expected stop_grace_period above the {drain:g}s drain, found {grace:g}s"
    )


@pytest.mark.parametrize(
    "name", sorted(s for s in SERVICES if SERVICES[s].get("entrypoint") == ["python", "-c"])
)
def test_inline_scripts_compile_and_import_what_exists(name: str) -> None:
    command = SERVICES[name].get("command")
    assert isinstance(command, list) and len(command) == 1, (
        f"{name}: expected one script as command, found {command!r}"
    )
    script = command[0]
    assert "$" not in script, f"{name}: expected no $ (compose interpolates it), found one"
    for node in ast.walk(ast.parse(script, f"{name}.command")):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            missing = [a.name for a in node.names if not hasattr(module, a.name)]
            assert not missing, (
                f"{name}: expected {node.module} to define {missing}, found them missing"
            )


# --- the image -----------------------------------------------------------------------------


def test_the_image_runs_worker_py_as_a_user_with_the_source_on_the_path() -> None:
    assert instruction("FROM").startswith("python:3.11"), (
        f"Dockerfile: expected FROM python:3.11-slim, found {instruction('FROM')!r}"
    )
    entrypoint = json.loads(instruction("ENTRYPOINT"))
    assert entrypoint == ["python", "worker.py"], (
        f"Dockerfile: expected ENTRYPOINT ['python', 'worker.py'], found {entrypoint!r}"
    )
    user = instruction("USER")
    assert user not in ("root", "0"), f"Dockerfile: expected a non-root USER, found {user!r}"
    env = dict(
        item.partition("=")[::2] for k, a in dockerfile() if k == "ENV" for item in shlex.split(a)
    )
    workdir = instruction("WORKDIR")
    assert env.get("PYTHONPATH") == workdir, (
        f"Dockerfile: expected PYTHONPATH={workdir} (the WORKDIR), found {env.get('PYTHONPATH')!r}"
    )


def test_the_image_holds_worker_py_and_the_app() -> None:
    copied = [
        source
        for keyword, arguments in dockerfile()
        if keyword == "COPY" and not arguments.startswith("--")
        for source in shlex.split(arguments)[:-1]
    ]
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in copied:
        assert (ROOT / source).exists(), f"Dockerfile: expected COPY source {source}, found none"
        hits = [pattern for pattern in ignored if fnmatch.fnmatch(source, pattern)]
        assert not hits, (
            f"Dockerfile: expected {source} in the build context, found .dockerignore {hits}"
        )
    package = WORKER_ENV.get("EMBER_APP", "examples").split(".")[0]
    # The wheel is built from ember/ (its symlinks lead to the four internal packages).
    for needed in ("worker.py", "pyproject.toml", "ember", *INTERNAL_PACKAGES, package):
        assert needed in copied, f"Dockerfile: expected COPY {needed}, found {copied}"

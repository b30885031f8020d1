"""docker-compose.yml and Dockerfile agree with each other and with the settings model.

No docker engine runs here, so the file is checked the way `docker compose config`
would see it, plus Ember's own rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from worker import load_domain
from workflows.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
WORKER_ENV: dict[str, str] = SERVICES["worker"]["environment"]


def test_every_service_has_an_image_or_a_build_that_exists() -> None:
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, f"{name}: expected image or build"
    build = SERVICES["worker"]["build"]
    dockerfile = ROOT / build["context"] / build["dockerfile"]
    assert dockerfile.is_file(), f"worker: expected {dockerfile} to exist"


def test_worker_environment_is_the_settings_model(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {f"EMBER_{name.upper()}" for name in Settings.model_fields}
    unknown = set(WORKER_ENV) - fields
    assert not unknown, f"expected only Settings fields {sorted(fields)}, found {sorted(unknown)}"
    for required in ("EMBER_APP", "EMBER_DATABASE_URL", "EMBER_TEMPORAL_ADDRESS"):
        assert required in WORKER_ENV, f"worker: expected {required} in its environment"
    for key, value in WORKER_ENV.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # as the container reads it
    domain = load_domain(settings.app)
    assert settings.queues is not None
    domain.validate(queues=settings.queues)  # the worker runs every queue it needs


def test_worker_reaches_the_temporal_and_postgres_services() -> None:
    host, _, port = WORKER_ENV["EMBER_TEMPORAL_ADDRESS"].partition(":")
    assert host in SERVICES, f"EMBER_TEMPORAL_ADDRESS: expected a service name, found {host!r}"
    assert any(p.endswith(f":{port}") for p in SERVICES[host]["ports"]), f"{host}: port {port}"
    assert SERVICES["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == f"{host}:{port}"
    match = re.match(
        r"postgresql\+psycopg://[^@]+@([^:/]+):(\d+)/(\w+)", WORKER_ENV["EMBER_DATABASE_URL"]
    )
    assert match, (
        f"EMBER_DATABASE_URL: expected user@host:port/db, found {WORKER_ENV['EMBER_DATABASE_URL']}"
    )
    db_host, _, database = match.groups()
    assert db_host in SERVICES, f"EMBER_DATABASE_URL: expected a service host, found {db_host!r}"
    init_scripts = [v.split(":")[0] for v in SERVICES[db_host]["volumes"] if v.startswith("./")]
    created = " ".join((ROOT / script).read_text() for script in init_scripts)
    assert f"CREATE DATABASE {database}" in created, f"expected an init script creating {database}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_exist_and_wait_for_health(name: str) -> None:
    for dependency, rule in SERVICES[name].get("depends_on", {}).items():
        assert dependency in SERVICES, f"{name}: depends on unknown service {dependency!r}"
        assert rule["condition"] == "service_healthy", f"{name}: expected service_healthy"
        assert "healthcheck" in SERVICES[dependency], f"{dependency}: expected a healthcheck"


def test_published_ports_are_unique_and_volumes_declared() -> None:
    published = [p.split(":")[0] for s in SERVICES.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published)), f"expected unique host ports, found {published}"
    named = {
        v.split(":")[0]
        for s in SERVICES.values()
        for v in s.get("volumes", [])
        if not v.startswith((".", "/"))
    }
    assert named <= set(COMPOSE.get("volumes", {})), f"expected {named} declared under volumes"


def test_the_image_runs_worker_py_and_stops_after_the_drain() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "worker.py"]' in dockerfile
    grace = SERVICES["worker"]["stop_grace_period"]
    assert int(grace.removesuffix("s")) > 30, "expected a stop grace period above the 30 s drain"

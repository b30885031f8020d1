"""The command line without servers: settings errors, app loading, validate, JSON logs."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from ember.worker import build_parser
from ember.workflows.logs import JsonLogFormatter
from ember.workflows.settings import Settings, SettingsError, parse_queues, settings_from
from ember.workflows.startup import load_domain

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "worker.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        timeout=60,
    )


def test_queues_parse_and_a_bad_value_names_the_variable() -> None:
    assert parse_queues("tickets=10, default=5") == {"tickets": 10, "default": 5}
    with pytest.raises(SettingsError, match=r"EMBER_QUEUES: .*whole number"):
        settings_from(build_parser().parse_args(["--queues", "tickets=many", "validate"]))


def test_options_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_TEMPORAL_ADDRESS", "from-env:7233")
    args = build_parser().parse_args(["--temporal-address", "from-cli:7233", "validate"])
    assert settings_from(args).temporal_address == "from-cli:7233"
    assert Settings().temporal_address == "from-env:7233"


def test_load_domain_explains_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="EMBER_APP: expected module:attribute"):
        load_domain("no_colon")
    with pytest.raises(ValueError, match="expected an importable module"):
        load_domain("does.not.exist:domain")
    with pytest.raises(ValueError, match=r"to be an ember\.Domain, found"):
        load_domain("examples.helpdesk.app:build_helpdesk")


def test_validate_lists_triggers_and_schedules() -> None:
    result = run_cli("--app", "examples.helpdesk.app:helpdesk", "validate")
    assert result.returncode == 0, result.stderr
    assert "trigger  tickets.escalate_stale" in result.stdout
    assert "schedule tickets.daily_digest" in result.stdout


def test_validate_of_a_broken_registry_exits_non_zero_listing_every_problem() -> None:
    result = run_cli("--app", "examples.helpdesk.app:helpdesk", "--queues", "tickets=1", "validate")
    assert result.returncode == 1
    assert "daily_digest.queue: expected a queue the worker runs" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_of_a_worker_for_some_queues_with_require_all_queues_false() -> None:
    app = ("--app", "examples.helpdesk.app:helpdesk")
    some = run_cli(*app, "--queues", "tickets=1", "validate", EMBER_REQUIRE_ALL_QUEUES="false")
    assert some.returncode == 0, some.stderr
    typo = run_cli(*app, "--require-all-queues", "false", "--queues", "tikets=1", "validate")
    assert typo.returncode == 1
    assert "helpdesk.queues.tikets: expected a queue some declaration uses" in typo.stderr


def test_json_log_lines_are_json_objects() -> None:
    record = logging.LogRecord("ember.worker", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    line = json.loads(JsonLogFormatter().format(record))
    assert line["message"] == "hello x" and line["level"] == "INFO"
    assert line["logger"] == "ember.worker"


def test_every_setting_has_an_option_that_sets_it() -> None:
    options = {
        "--temporal-tls": "false",
        "--temporal-tls-server-ca": "/certs/ca.pem",
        "--lock-timeout": "3",
        "--database-pool-size": "4",
        "--log-json": "true",
        "--queues": "tickets=2",
    }
    args = build_parser().parse_args([*(x for pair in options.items() for x in pair), "validate"])
    settings = settings_from(args)
    assert (settings.temporal_tls, settings.temporal_tls_server_ca) == (False, "/certs/ca.pem")
    assert (settings.lock_timeout, settings.database_pool_size) == (timedelta(seconds=3), 4)
    assert settings.log_json is True and settings.queues == {"tickets": 2}
    help_text = build_parser().format_help()
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in help_text and f"EMBER_{name.upper()}" in help_text


def test_every_command_and_argument_is_explained_in_the_help() -> None:
    parser = build_parser()
    for path in (["trigger", "run"], ["schedules", "pause"]):
        sub = parser
        for word in path:
            choices = next(
                action.choices
                for action in sub._actions
                if isinstance(action, argparse._SubParsersAction)
            )
            sub = choices[word]
        for action in sub._actions:
            assert action.help, f"{' '.join(path)} {action.dest} has no help"


APP = "examples.helpdesk.app:helpdesk"
COMMANDS = [
    ["validate"],
    ["migrate"],
    ["run"],
    ["status"],
    ["schedules", "list"],
    ["trigger", "run", "tickets", "escalate_stale", "1"],
    ["dev"],
]
BAD_SETTINGS = [
    ("EMBER_LOCK_TIMEOUT", "-1", "found -1 seconds"),
    ("EMBER_QUEUES", "tickets=5000", "expected concurrency from 1 to 1000"),
    ("EMBER_ACTOR_SIGNING_KEY", "", "found an empty value"),
    ("EMBER_METRICS_BIND", "localhost:9464", "found 'localhost:9464'"),
    ("EMBER_TEMPORAL_ADDRESS", "http://localhost:7233", "expected host:port"),
    ("EMBER_DATABASE_URL", "mysql://ada:hunter2@db/app", "'mysql://ada:***@db/app'"),
    ("EMBER_LOCK_TIMEOUT", "9999999", "PostgreSQL's lock_timeout limit"),
]


@pytest.mark.parametrize(
    ("command", "setting"),
    list(zip(COMMANDS, BAD_SETTINGS, strict=True)),
    ids=[f"{' '.join(c[:2])}-{s[0]}" for c, s in zip(COMMANDS, BAD_SETTINGS, strict=True)],
)
def test_a_bad_setting_is_one_line_naming_its_variable_in_every_command(
    command: list[str], setting: tuple[str, str, str]
) -> None:
    variable, value, found = setting
    result = run_cli(*command, EMBER_APP=APP, **{variable: value})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {variable}: expected "), line
    assert found in line and "; fix: " in line and "hunter2" not in line


def test_an_unknown_ember_variable_is_warned_about_with_the_closest_name() -> None:
    result = run_cli("validate", EMBER_APP=APP, EMBER_QUEUE="tickets=1")
    assert result.returncode == 0, result.stderr
    assert (
        "WARNING ember.worker ember: EMBER_QUEUE is not an Ember setting and is ignored; "
        "did you mean EMBER_QUEUES?"
    ) in result.stderr


@pytest.mark.parametrize(
    ("module", "found"),
    [
        (
            "raising_app",
            "ValueError: invalid literal for int() with base 10: 'three' (at "
            "tests/integration/apps/raising_app.py:11, reached from "
            "tests/integration/apps/raising_app.py:14); fix: correct the app's code there "
            "(--debug shows the traceback)",
        ),
        (
            "missing_dependency_app",
            "it needs 'ember_no_such_dependency', which is not installed (imported at "
            "tests/integration/apps/missing_dependency_app.py:9); fix: install the package "
            "providing 'ember_no_such_dependency' where the worker runs, or correct the import",
        ),
    ],
    ids=["raises", "missing-dependency"],
)
def test_an_app_failing_to_import_shows_the_exception_and_where(module: str, found: str) -> None:
    result = run_cli("validate", EMBER_APP=f"tests.integration.apps.{module}:domain")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: EMBER_APP: expected 'tests.integration.apps.{module}' to import, found {found}"
    )


EVERY_COMMAND = [
    ["validate"],
    ["run"],
    ["dev"],
    ["migrate"],
    ["status"],
    ["schedules", "list"],
    ["schedules", "sync"],
    ["schedules", "pause", "tickets", "daily_digest"],
    ["schedules", "unpause", "tickets", "daily_digest"],
    ["schedules", "trigger-now", "tickets", "daily_digest"],
    ["trigger", "run", "tickets", "escalate_stale", "1"],
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_options_work_on_either_side_of_every_subcommand(command: list[str]) -> None:
    parser = build_parser()
    options = ["--app", APP, "--queues", "tickets=2", "--debug"]
    before = parser.parse_args([*options, *command])
    after = parser.parse_args([*command, *options])
    between = parser.parse_args([command[0], *options, *command[1:]])
    for args in (before, after, between):
        assert (args.app, args.queues, args.debug) == (APP, "tickets=2", True)
    bare = parser.parse_args(command)
    assert (bare.app, bare.queues, bare.debug) == (None, None, False)


def test_an_option_after_the_subcommand_wins_over_one_before() -> None:
    args = build_parser().parse_args(["--app", "a:before", "status", "--app", "b:after"])
    assert args.app == "b:after"


def test_a_subcommands_help_stays_short_and_points_at_the_shared_options() -> None:
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    help_text = subcommands.choices["validate"].format_help()
    assert "DATABASE_URL" not in help_text and "EMBER_" not in help_text
    assert "(--app, --database-url, ..., --debug) works here too" in " ".join(help_text.split())


def test_validate_takes_its_options_after_the_subcommand_too() -> None:
    result = run_cli("validate", "--app", APP, "--debug")
    assert result.returncode == 0, result.stderr
    assert "trigger  tickets.escalate_stale" in result.stdout


def test_the_ember_console_script_runs_the_same_command_line() -> None:
    # Installed by `pip install -e .` (make .venv/.installed) from [project.scripts].
    script = Path(sys.executable).parent / "ember"
    assert script.exists(), f"{script} missing: run `pip install -e .` (make .venv/.installed)"
    shown = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: ember ")
    for command in ("validate", "run", "dev", "migrate", "status", "schedules", "trigger"):
        assert command in shown.stdout
    result = subprocess.run(
        [str(script), "validate", "--app", APP],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "schedule tickets.daily_digest: action=send_digest cron=@daily timezone=UTC" in (
        result.stdout
    )
    failed = subprocess.run(
        [str(script), "validate", "--app", "no_colon"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: EMBER_APP: expected module:attribute")

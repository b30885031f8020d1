"""Connecting to Temporal from settings, and making sure Ember's search attributes exist."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, TLSConfig

from ember.registry import ConfigurationError, EmberError, naming
from ember.workflows.settings import Settings

_runtimes: dict[str, Runtime] = {}
CONNECT_TIMEOUT_SECONDS = 10.0
ATTRIBUTE_TYPES = {
    **dict.fromkeys(naming.SEARCH_ATTRIBUTES, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD),
    **dict.fromkeys(
        naming.KEYWORD_LIST_ATTRIBUTES, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST
    ),
}
"""Ember's search attributes and their types (Keyword, and KeywordList for EmberTags)."""


class SearchAttributeError(EmberError, RuntimeError):
    """The server lacks Ember's search attributes and would not register them."""


class TemporalUnreachable(EmberError, RuntimeError):
    """No Temporal frontend answered at the address (a one-line message saying what to fix)."""

    def __init__(self, address: str, found: str) -> None:
        super().__init__(
            f"EMBER_TEMPORAL_ADDRESS: expected a Temporal frontend at {address}, found {found}; "
            "fix: start Temporal there (or `python worker.py dev`), or set "
            "EMBER_TEMPORAL_ADDRESS / --temporal-address"
        )


def _connect_failure(error: RuntimeError) -> str:
    """What went wrong, in a few words, from the SDK's connection error."""
    text = " ".join(str(error).split())
    for marker, found in (
        ("Connection refused", "nothing listening (connection refused)"),
        ("Timeout expired", "a server that does not answer"),
        ("dns error", "a host name that does not resolve"),
    ):
        if marker.lower() in text.lower():
            return found
    return text[:300]


class MetricsUnavailable(EmberError, RuntimeError):
    """The Prometheus exporter could not serve on the address (one line naming the setting)."""


def metrics_runtime(bind: str) -> Runtime:
    """One SDK runtime per metrics address, exporting Prometheus metrics on ``bind``.

    Raises:
        MetricsUnavailable: ``bind`` is not an IP:port, or nothing may listen there.
    """
    if bind not in _runtimes:
        telemetry = TelemetryConfig(metrics=PrometheusConfig(bind_address=bind))
        try:
            _runtimes[bind] = Runtime(telemetry=telemetry)
        except ValueError as error:
            raise MetricsUnavailable(
                f"EMBER_METRICS_BIND: expected an IP address and free port to serve /metrics "
                f"on, found {bind!r} ({error}); fix: use an IP address of this machine and a free "
                "port in EMBER_METRICS_BIND / --metrics-bind"
            ) from error
    return _runtimes[bind]


def tls_config(
    cert: str | None,
    key: str | None,
    api_key: str | None,
    *,
    tls: bool | None = None,
    server_ca: str | None = None,
) -> TLSConfig | bool:
    """The TLS to use: mTLS with cert + key paths, else TLS when asked for (``tls``),
    implied by an API key or a server CA; ``tls=False`` turns it off even then.

    Raises:
        ConfigurationError: only one of ``cert`` and ``key``, or ``tls=False`` with them.
    """
    ca = Path(server_ca).read_bytes() if server_ca else None
    if cert or key:
        if not (cert and key):
            raise ConfigurationError(
                "EMBER_TEMPORAL_TLS_CERT / EMBER_TEMPORAL_TLS_KEY: expected both paths, "
                "found only one; fix: set both for mTLS, or neither"
            )
        if tls is False:
            raise ConfigurationError(
                "EMBER_TEMPORAL_TLS: expected it on (or unset) with a client certificate, "
                "found it off; fix: unset EMBER_TEMPORAL_TLS, or drop the certificate"
            )
        return TLSConfig(
            server_root_ca_cert=ca,
            client_cert=Path(cert).read_bytes(),
            client_private_key=Path(key).read_bytes(),
        )
    wanted = tls if tls is not None else bool(api_key or ca)
    if not wanted:
        return False
    return TLSConfig(server_root_ca_cert=ca) if ca else True


async def connect(
    address: str,
    *,
    namespace: str = "default",
    tls: bool | TLSConfig | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    tls_server_ca: str | None = None,
    api_key: str | None = None,
    metrics_bind: str | None = None,
) -> Client:
    """A Temporal client: plain, TLS, mTLS (cert + key paths) or API key (Temporal Cloud).

    ``tls`` may be a ready ``TLSConfig``; as a bool it forces TLS on or off
    (default: on for a certificate, a server CA or an API key).

    Raises:
        TemporalUnreachable: nothing answered at ``address`` within
            ``CONNECT_TIMEOUT_SECONDS``, the connection failed, or the address is invalid.
        MetricsUnavailable: the metrics exporter could not start on ``metrics_bind``.
    """
    if not isinstance(tls, TLSConfig):
        tls = tls_config(tls_cert, tls_key, api_key, tls=tls, server_ca=tls_server_ca)
    runtime = metrics_runtime(metrics_bind) if metrics_bind else None
    connecting = Client.connect(
        address, namespace=namespace, tls=tls, api_key=api_key, runtime=runtime
    )
    try:
        return await asyncio.wait_for(connecting, CONNECT_TIMEOUT_SECONDS)
    except TimeoutError:
        found = f"a server that does not answer within {CONNECT_TIMEOUT_SECONDS:g}s"
        raise TemporalUnreachable(address, found) from None
    except ValueError as error:  # the SDK could not parse the address
        raise TemporalUnreachable(address, f"an address it cannot use ({error})") from error
    except RuntimeError as error:
        if "Failed client connect" not in str(error):
            raise
        raise TemporalUnreachable(address, _connect_failure(error)) from error


async def connect_with(settings: Settings) -> Client:
    """A Temporal client from the ``EMBER_TEMPORAL_*`` and ``EMBER_METRICS_BIND`` settings."""
    api_key = settings.temporal_api_key
    return await connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=settings.temporal_tls,
        tls_cert=settings.temporal_tls_cert,
        tls_key=settings.temporal_tls_key,
        tls_server_ca=settings.temporal_tls_server_ca,
        api_key=api_key.get_secret_value() if api_key else None,
        metrics_bind=settings.metrics_bind,
    )


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register Ember's search attributes that are missing; return those added."""
    namespace = client.namespace
    fix = (
        "fix: add them as an admin, e.g. "
        "`temporal operator search-attribute create --name EmberTrigger --type Keyword`"
    )
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as error:
        raise SearchAttributeError(
            f"search attributes: expected to list those of namespace {namespace!r}, found "
            f"the server refusing ({error.message}); {fix}"
        ) from error
    known = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = [name for name in ATTRIBUTE_TYPES if name not in known]
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={name: ATTRIBUTE_TYPES[name] for name in missing},
            )
        )
    except RPCError as error:
        raise SearchAttributeError(
            f"search attributes: expected {', '.join(naming.SEARCH_ATTRIBUTES)} (Keyword) and "
            f"{', '.join(naming.KEYWORD_LIST_ATTRIBUTES)} (KeywordList) in "
            f"namespace {namespace!r}, found {', '.join(missing)} missing and the server "
            f"refused to add them ({error.message}); {fix}"
        ) from error
    return missing

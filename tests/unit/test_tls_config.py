"""Which TLS a Temporal connection uses, from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from ember.workflows.connection import tls_config


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, str]:
    """Paths of a (placeholder) CA, client certificate and key."""
    paths = {}
    for name in ("ca", "cert", "key"):
        path = tmp_path / f"{name}.pem"
        path.write_bytes(f"-----{name}-----".encode())
        paths[name] = str(path)
    return paths


def test_nothing_set_means_plain_and_an_api_key_means_tls() -> None:
    assert tls_config(None, None, None) is False
    assert tls_config(None, None, "secret") is True
    assert tls_config(None, None, None, tls=True) is True


def test_tls_false_turns_it_off_even_with_an_api_key() -> None:
    assert tls_config(None, None, "secret", tls=False) is False


def test_a_server_ca_checks_the_server_certificate(pem: dict[str, str]) -> None:
    config = tls_config(None, None, None, server_ca=pem["ca"])
    assert isinstance(config, TLSConfig)
    assert config.server_root_ca_cert == b"-----ca-----" and config.client_cert is None


def test_cert_and_key_mean_mtls_with_the_server_ca(pem: dict[str, str]) -> None:
    config = tls_config(pem["cert"], pem["key"], None, server_ca=pem["ca"])
    assert isinstance(config, TLSConfig)
    assert (config.client_cert, config.client_private_key, config.server_root_ca_cert) == (
        b"-----cert-----",
        b"-----key-----",
        b"-----ca-----",
    )


def test_half_an_mtls_pair_or_mtls_with_tls_off_is_refused(pem: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="expected both paths, found only one"):
        tls_config(pem["cert"], None, None)
    with pytest.raises(ValueError, match="EMBER_TEMPORAL_TLS: expected it on"):
        tls_config(pem["cert"], pem["key"], None, tls=False)

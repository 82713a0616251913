"""The development PKI's certificate profiles and the key files (no database)."""
from __future__ import annotations

import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from certs.ca import forget_cached_pki, init_dev_pki, load_dev_pki, normalise_serial, serial_hex
from certs.keystore import KeyStoreError, open_p12, storage_key
from certs.trust import trust_roots
from settings import ConfigError, Settings


@pytest.fixture
def pki_settings(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", base_url="https://lienthong.example.vn")
    yield settings
    forget_cached_pki()


def test_profiles(pki_settings):
    pki, created = init_dev_pki(pki_settings)
    assert created
    assert pki.root.public_key().key_size == 3072 and pki.issuing.public_key().key_size == 3072
    issuing_bc = pki.issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert issuing_bc.critical and issuing_bc.value.ca and issuing_bc.value.path_length == 0
    assert pki.issuing.issuer == pki.root.subject

    ocsp_ext = pki.ocsp.extensions
    assert ocsp_ext.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING])
    ocsp_ext.get_extension_for_class(x509.OCSPNoCheck)

    tsa_eku = pki.tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert tsa_eku.critical and list(tsa_eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    crl_dp = pki.tsa.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == "https://lienthong.example.vn/pki/crl"
    aia = {d.access_method: d.access_location.value
           for d in pki.tsa.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value}
    assert aia[x509.AuthorityInformationAccessOID.OCSP] == "https://lienthong.example.vn/pki/ocsp"
    assert aia[x509.AuthorityInformationAccessOID.CA_ISSUERS] == "https://lienthong.example.vn/pki/ca.pem"
    for cert in (pki.issuing, pki.ocsp, pki.tsa):
        assert cert.not_valid_after_utc <= pki.root.not_valid_after_utc


def test_keys_are_never_in_clear_on_disk(pki_settings):
    init_dev_pki(pki_settings)
    folder = pki_settings.data_dir / "pki"
    key_file = folder / ".storage_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    for path in folder.iterdir():
        data = path.read_bytes()
        assert b"PRIVATE KEY" not in data
        if path.suffix == ".p12":
            assert path.stat().st_mode & 0o077 == 0
            with pytest.raises(ValueError):
                pkcs12.load_key_and_certificates(data, None)
    os.chmod(key_file, 0o600)
    key_file.write_bytes(os.urandom(32))  # another storage key cannot open them
    with pytest.raises(KeyStoreError):
        open_p12(pki_settings, "pki/root.p12")


def test_init_twice_and_load_give_the_same_root(pki_settings):
    first, _ = init_dev_pki(pki_settings)
    forget_cached_pki()
    second, created = init_dev_pki(pki_settings)
    assert not created and second.root == first.root and second.tsa == first.tsa
    assert load_dev_pki(pki_settings) is second  # cached per process
    assert storage_key(pki_settings) == storage_key(pki_settings)


def test_serial_spellings():
    assert normalise_serial("0A:1B") == "a1b" == normalise_serial(" 0x0A1B ") == serial_hex(0xA1B)
    with pytest.raises(ValueError):
        normalise_serial("xyz")


def test_trust_roots_add_the_trust_dir(pki_settings, tmp_path):
    other, _ = init_dev_pki(Settings(data_dir=tmp_path / "other"))
    forget_cached_pki()
    folder = tmp_path / "trust"
    folder.mkdir()
    from cryptography.hazmat.primitives.serialization import Encoding

    (folder / "national-root.pem").write_bytes(other.root.public_bytes(Encoding.PEM))
    (folder / "issuing.cer").write_bytes(other.issuing.public_bytes(Encoding.DER))
    (folder / "README.txt").write_text("ignored")
    roots = trust_roots(pki_settings.with_changes(trust_dir=folder))
    ours = load_dev_pki(pki_settings).root
    assert {r.dump() for r in roots} == {c.public_bytes(Encoding.DER) for c in (ours, other.root, other.issuing)}

    (folder / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError):
        trust_roots(pki_settings.with_changes(trust_dir=folder))
    with pytest.raises(ConfigError):
        trust_roots(pki_settings.with_changes(trust_dir=tmp_path / "missing"))

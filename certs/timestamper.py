"""The development TSA's stamper (RFC 3161), for ``POST /pki/tsa`` and in-process stamps.

Apart from ``certs.responders`` because it subclasses pyHanko's stamper: the CRL and OCSP
answers, which every ``flask`` command reaches, then need not load pyHanko.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from certs.ca import DevPKI, load_dev_pki
from certs.responders import TSA_POLICY_OID
from settings import Settings


class DevTimeStamper(DummyTimeStamper):
    """pyHanko's self-signing ``DummyTimeStamper`` with the key kept loaded and our policy.

    It serves both ``POST /pki/tsa`` and in-process time stamps while signing.
    """

    def __init__(self, pki: DevPKI) -> None:
        key = pki.tsa_key
        assert isinstance(key, rsa.RSAPrivateKey)  # certs.ca makes it so: pyHanko's stamper signs with RSA only
        self._key = key
        super().__init__(tsa_cert=pki.tsa_asn1, tsa_key=None,
                         certs_to_embed=SimpleCertificateStore.from_certs([pki.issuing_asn1, pki.root_asn1]))

    def __repr__(self) -> str:
        return "DevTimeStamper()"

    def _build_tst_info(self, message_imprint: tsp.MessageImprint, dt: datetime, req: tsp.TimeStampReq
                        ) -> tsp.TSTInfo:
        info = super()._build_tst_info(message_imprint, dt.astimezone(timezone.utc), req)
        info["policy"] = tsp.ObjectIdentifier(TSA_POLICY_OID)
        return info

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime
                       ) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashlib.new(md_algorithm, tst_info_data).digest()
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest),
        ])
        signature = self._key.sign(signed_attrs.dump(), PKCS1v15(),
                                   get_pyca_cryptography_hash(md_algorithm.upper()))
        return signature, signed_attrs


_stampers: dict[tuple[str, int], DevTimeStamper] = {}


def dev_timestamper(settings: Settings) -> DevTimeStamper:
    """One per data folder and TSA certificate per process (the key stays loaded)."""
    pki = load_dev_pki(settings)
    key = (str(settings.data_dir.resolve()), pki.tsa.serial_number)
    stamper = _stampers.get(key)
    if stamper is None:
        stamper = _stampers[key] = DevTimeStamper(pki)
    return stamper

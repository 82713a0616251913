"""certs: the PKI — development CA, credential stores (PKCS#12, PKCS#11), trust anchors,
CRL / OCSP / RFC 3161 responders and their in-process answers while signing.

Modules, by what other packages call: ``ca`` (``init_dev_pki``, ``load_dev_pki``),
``issuance`` (issue, import, revoke, ``load_signing_credential``), ``trust``
(``load_trust_store``), ``fetchers`` (``validation_context``, ``local_timestamper``),
``ports`` (what ``exchange`` provides: the directory, the audit of credentials). The HTTP
endpoints (``api``) and the ``flask pki`` commands (``cli``) are wired by ``app.py``.
"""

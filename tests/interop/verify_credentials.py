#!/usr/bin/env python3
"""Second WebAuthn verifier for the interop tests (issue 7): py_webauthn (Duo Labs' `webauthn`
from PyPI) judges every registration the app produced in the test suite.

    verify_credentials.py DIR

DIR holds one JSON file per registration, written by the Rust tests' harness
(crates/passkeys-cli/tests/interop_support): the raw VerifyMyPasswordless body the app sent and
the challenge, origin and rpId the relying party expects. For each file this checks

* go-webauthn's (ZITADEL's) encoding rules: `publicKeyCredential` is standard base64 of the
  credential JSON with nothing after the JSON; `id` is unpadded base64url and equals `rawId`;
  `rawId`, `response.clientDataJSON` and `response.attestationObject` use the URL alphabet;
  the attestation object is one CBOR map with no trailing bytes, and authData has no bytes
  left over after the attested credential data (and extensions);
* py_webauthn's `verify_registration_response`: type, challenge, origin, rpIdHash, user
  presence and verification flags, the credential public key and the attestation statement.

Exits 1 if any registration is rejected or if there are none. The last line is
"N passed, N failed".
"""

import base64
import binascii
import io
import json
import pathlib
import re
import sys

import cbor2
from webauthn import verify_registration_response
from webauthn.helpers import base64url_to_bytes

URL_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
UNPADDED_URL = re.compile(r"^[A-Za-z0-9_-]+$")


class Rejected(Exception):
    pass


def strict_json(text, what):
    """The JSON value in `text`, refusing anything but whitespace after it."""
    stripped = text.lstrip()
    try:
        value, end = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError as e:
        raise Rejected(f"{what} is not JSON: {e}") from e
    if stripped[end:].strip():
        raise Rejected(f"{what} has trailing data after the JSON: {stripped[end:end + 20]!r}")
    return value


def url_b64(value, what, padded_ok=True):
    if not isinstance(value, str) or not value:
        raise Rejected(f"{what} is missing or not a string")
    pattern = URL_ALPHABET if padded_ok else UNPADDED_URL
    if not pattern.match(value):
        raise Rejected(f"{what} is not {'' if padded_ok else 'unpadded '}base64url: {value[:24]!r}")
    return base64.urlsafe_b64decode(value + "=" * (-len(value.rstrip("=")) % 4))


def cbor_one(data, what):
    stream = io.BytesIO(data)
    value = cbor2.CBORDecoder(stream).decode()
    if stream.tell() != len(data):
        raise Rejected(f"{what} has {len(data) - stream.tell()} trailing bytes after the CBOR")
    return value, stream.tell()


def check_auth_data(auth_data):
    """rpIdHash(32) flags(1) signCount(4) [aaguid(16) credIdLen(2) credId COSEKey] [ext]."""
    if len(auth_data) < 37:
        raise Rejected("authData is shorter than 37 bytes")
    flags = auth_data[32]
    if not flags & 0x40:
        raise Rejected("authData has no attested credential data (AT flag)")
    pos = 37 + 16
    cred_len = int.from_bytes(auth_data[pos:pos + 2], "big")
    pos += 2 + cred_len
    stream = io.BytesIO(auth_data[pos:])
    cbor2.CBORDecoder(stream).decode()  # the credential public key
    pos += stream.tell()
    if flags & 0x80:
        stream = io.BytesIO(auth_data[pos:])
        cbor2.CBORDecoder(stream).decode()  # extensions
        pos += stream.tell()
    if pos != len(auth_data):
        raise Rejected(f"authData has {len(auth_data) - pos} leftover bytes")
    return auth_data[37 + 18:37 + 18 + cred_len]


def check(record):
    body = strict_json(record["verifyBody"], "the verify body")
    verification = body.get("verification")
    if not isinstance(verification, dict):
        raise Rejected("the verify body has no `verification` object")
    encoded = verification.get("publicKeyCredential")
    if not isinstance(encoded, str):
        raise Rejected("verification.publicKeyCredential is not a string")
    try:
        credential_json = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise Rejected(f"publicKeyCredential is not standard base64 of UTF-8: {e}") from e
    credential = strict_json(credential_json, "the credential JSON")

    cred_id = credential.get("id")
    raw_id = url_b64(cred_id, "id", padded_ok=False)
    if credential.get("rawId") != cred_id:
        raise Rejected("rawId does not equal id")
    if credential.get("type") != "public-key":
        raise Rejected(f"type is {credential.get('type')!r}")
    response = credential.get("response") or {}
    url_b64(response.get("clientDataJSON"), "response.clientDataJSON")
    attestation = url_b64(response.get("attestationObject"), "response.attestationObject")
    att, _ = cbor_one(attestation, "the attestation object")
    if not isinstance(att, dict) or not {"fmt", "authData", "attStmt"} <= set(att):
        raise Rejected("the attestation object is not a map with fmt, authData and attStmt")
    if check_auth_data(att["authData"]) != raw_id:
        raise Rejected("the credential id in authData differs from id")
    if record.get("expectedCredentialId") not in (None, cred_id):
        raise Rejected("the relying party stored another credential id")

    verified = verify_registration_response(
        credential=credential_json,
        expected_challenge=base64url_to_bytes(record["expectedChallenge"]),
        expected_origin=record["expectedOrigin"],
        expected_rp_id=record["expectedRpId"],
        require_user_verification=bool(record.get("requireUserVerification", True)),
    )
    if verified.credential_id != raw_id:
        raise Rejected("py_webauthn reports another credential id")
    return f"fmt={verified.fmt}, aaguid={verified.aaguid}, uv={verified.user_verified}"


def mutants(record):
    """Broken copies of a good registration: each must be rejected (negative controls)."""
    body = json.loads(record["verifyBody"])
    credential = json.loads(base64.b64decode(body["verification"]["publicKeyCredential"]))

    def with_credential(text):
        b = json.loads(json.dumps(body))
        b["verification"]["publicKeyCredential"] = base64.b64encode(text.encode()).decode()
        return {**record, "verifyBody": json.dumps(b)}

    def with_changed(change):
        c = json.loads(json.dumps(credential))
        change(c)
        return with_credential(json.dumps(c))

    def bad_signature(c):
        att = cbor2.loads(base64url_to_bytes(c["response"]["attestationObject"]))
        sig = bytearray(att["attStmt"]["sig"])
        sig[-1] ^= 1
        att["attStmt"]["sig"] = bytes(sig)
        c["response"]["attestationObject"] = base64.urlsafe_b64encode(cbor2.dumps(att)).decode().rstrip("=")

    other = "A" * 43
    yield "another challenge", {**record, "expectedChallenge": other}
    yield "another origin", {**record, "expectedOrigin": "http://localhost:1"}
    yield "another rpId", {**record, "expectedRpId": "example.com"}
    yield "padded id", with_changed(lambda c: c.update(id=c["id"] + "=", rawId=c["id"] + "="))
    yield "rawId differs", with_changed(lambda c: c.update(rawId="AAAA"))
    yield "standard alphabet", with_changed(lambda c: c["response"].update(
        clientDataJSON=c["response"]["clientDataJSON"] + "+/"))
    yield "trailing data", with_credential(json.dumps(credential) + "{}")
    yield "bad attestation signature", with_changed(bad_signature)


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    files = sorted(pathlib.Path(sys.argv[1]).glob("*.json"))
    passed = failed = 0
    for path in files:
        try:
            detail = check(json.loads(path.read_text("utf-8")))
            passed += 1
            print(f"ok       {path.name}: {detail}")
        except Exception as e:  # noqa: BLE001 - every rejection is reported, then counted
            failed += 1
            print(f"REJECTED {path.name}: {type(e).__name__}: {e}")
    if not files:
        print(f"no registrations in {sys.argv[1]}: the producing tests wrote nothing")
        failed += 1
    else:
        for what, mutant in mutants(json.loads(files[0].read_text("utf-8"))):
            try:
                check(mutant)
            except Exception as e:  # noqa: BLE001
                passed += 1
                print(f"ok       negative control ({what}) rejected: {type(e).__name__}: {str(e)[:100]}")
            else:
                failed += 1
                print(f"ACCEPTED negative control ({what}): the verifier let a broken registration through")
    print(f"py_webauthn: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

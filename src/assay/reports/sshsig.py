"""SSHSIG signatures (the format of `ssh-keygen -Y sign`) with Ed25519 keys.

The format is PROTOCOL.sshsig of OpenSSH. The signature covers a "signed
data" blob: the 6-byte magic "SSHSIG", then the SSH strings namespace,
reserved (empty), hash algorithm ("sha512") and the SHA-512 of the message.
The signature blob is the magic, uint32 version 1, and the SSH strings
public key, namespace, reserved, hash algorithm and signature, where the
signature is the SSH encoding of an Ed25519 signature (string "ssh-ed25519",
string raw signature). It is armored as base64 in 70-character lines between
"-----BEGIN SSH SIGNATURE-----" and "-----END SSH SIGNATURE-----".
"""

from __future__ import annotations

import base64
import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAGIC = b"SSHSIG"
VERSION = 1
HASH_ALGORITHM = "sha512"
KEY_TYPE = "ssh-ed25519"
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
ARMOR_LINE = 70
# The namespace of a pack's manifest.sshsig and the principal in its
# allowed_signers. `ssh-keygen -Y verify` needs both, and a signature made for
# another namespace (such as "file" or "git") does not verify as a pack
# signature.
PACK_NAMESPACE = "assay-pack@example.invalid"
PACK_PRINCIPAL = "assay-signer"


class SshsigError(ValueError):
    """An SSHSIG signature that is malformed or does not verify."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def public_key_blob(public_key: Ed25519PublicKey) -> bytes:
    """Return the SSH wire encoding of `public_key` (string "ssh-ed25519", string key)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(KEY_TYPE.encode()) + _string(raw)


def openssh_public_line(public_key: Ed25519PublicKey, comment: str = "") -> str:
    """Return `public_key` as one authorized_keys line, "ssh-ed25519 AAAA... COMMENT"."""
    encoded = base64.b64encode(public_key_blob(public_key)).decode()
    return f"{KEY_TYPE} {encoded} {comment}".rstrip()


def _signed_data(message: bytes, namespace: str) -> bytes:
    digest = hashlib.sha512(message).digest()
    return (
        MAGIC
        + _string(namespace.encode())
        + _string(b"")
        + _string(HASH_ALGORITHM.encode())
        + _string(digest)
    )


def sign(private_key: Ed25519PrivateKey, message: bytes, namespace: str) -> str:
    """Sign `message` in `namespace` and return the armored SSHSIG signature."""
    if not namespace:
        raise ValueError("an SSHSIG namespace must not be empty")
    signature = private_key.sign(_signed_data(message, namespace))
    blob = (
        MAGIC
        + struct.pack(">I", VERSION)
        + _string(public_key_blob(private_key.public_key()))
        + _string(namespace.encode())
        + _string(b"")
        + _string(HASH_ALGORITHM.encode())
        + _string(_string(KEY_TYPE.encode()) + _string(signature))
    )
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + ARMOR_LINE] for i in range(0, len(encoded), ARMOR_LINE)]
    return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise SshsigError("signature blob is truncated")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def uint32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def string(self) -> bytes:
        return self.take(self.uint32())


def _dearmor(armored: str) -> bytes:
    lines = armored.strip().splitlines()
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise SshsigError(f"not armored between {ARMOR_BEGIN} and {ARMOR_END}")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError as exc:
        # binascii.Error, and the plain ValueError b64decode raises for a non-ASCII character.
        raise SshsigError(f"armored signature is not valid base64 ({exc})") from exc


def verify(public_key: Ed25519PublicKey, armored: str, message: bytes, namespace: str) -> None:
    """Check that `armored` is `public_key`'s SSHSIG signature of `message` in `namespace`.

    Raises SshsigError naming the first field that does not match.
    """
    reader = _Reader(_dearmor(armored))
    if reader.take(len(MAGIC)) != MAGIC:
        raise SshsigError("signature blob does not start with SSHSIG")
    version = reader.uint32()
    if version != VERSION:
        raise SshsigError(f"signature version {version} is not supported (expected {VERSION})")
    if reader.string() != public_key_blob(public_key):
        raise SshsigError("signed by another key than the pinned signer")
    signed_namespace = reader.string()
    if signed_namespace != namespace.encode():
        raise SshsigError(f"namespace is {signed_namespace!r}, expected {namespace!r}")
    if reader.string() != b"":
        raise SshsigError("reserved field is not empty")
    hash_algorithm = reader.string()
    if hash_algorithm != HASH_ALGORITHM.encode():
        raise SshsigError(f"hash algorithm is {hash_algorithm!r}, expected {HASH_ALGORITHM!r}")
    inner = _Reader(reader.string())
    if reader.offset != len(reader.data):
        raise SshsigError("signature blob has trailing bytes")
    if inner.string() != KEY_TYPE.encode():
        raise SshsigError(f"signature is not of type {KEY_TYPE}")
    raw_signature = inner.string()
    try:
        public_key.verify(raw_signature, _signed_data(message, namespace))
    except InvalidSignature:
        raise SshsigError("signature does not verify") from None

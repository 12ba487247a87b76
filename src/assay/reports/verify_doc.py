"""VERIFY.md: how to check a pack without assay."""

from __future__ import annotations

VERIFY_TEMPLATE = """\
# Verifying this audit pack

This pack was signed with the Ed25519 key whose fingerprint is

    {key_id}

The key in `public-key.pem` only identifies who signed the pack, not whether
to trust them. Obtain the signer's public key, or its fingerprint, from the
signer through another channel, and check it before anything else.

## With assay

    assay verify PACK_FOLDER --key SIGNER-PUBLIC-KEY.pem

(or `--fingerprint {key_id}`). It checks the signatures, every file's
SHA-256, the hash chain of `records.jsonl` and the checkpoint signature, and
exits 0 only when all of them hold.

## Without assay (Linux, OpenSSL 3 and GNU coreutils)

Run these in the pack folder. Replace `public-key.pem` with the copy of the
signer's key that you obtained yourself if you have one.

```sh
openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
sha256sum -c SHA256SUMS
```

The first command must print `Signature Verified Successfully`; the second
must print `OK` for every file. Together they prove that every file listed in
`SHA256SUMS` is exactly as signed. `manifest.json` is listed there too; it is
also signed on its own in `manifest.sig`, which `assay verify` checks.

A file that is in the folder but not in `SHA256SUMS` is not covered by the
signature: `assay verify` rejects such a pack, and `sha256sum -c` does not
notice it, so compare the folder's listing with `SHA256SUMS` by eye.
"""


def verify_markdown(key_id: str) -> str:
    return VERIFY_TEMPLATE.format(key_id=key_id)

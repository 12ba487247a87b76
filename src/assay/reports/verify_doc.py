"""VERIFY.md: how to check a pack without assay."""

from __future__ import annotations

from assay.reports.sshsig import PACK_NAMESPACE, PACK_PRINCIPAL

# The name of report.pdf's signature field. It is defined here, not in
# assay.reports.pdf_signature, so that writing VERIFY.md does not import pyHanko.
PDF_FIELD_NAME = "AssayReportSignature"

VERIFY_TEMPLATE = """\
# Verifying this audit pack

This pack was signed with the Ed25519 key whose fingerprint is

    {key_id}

The key files in the pack (`public-key.pem`, `public-key.pub` and
`allowed_signers`) only identify who signed the pack, not whether to trust
them. Obtain the signer's public key, or its fingerprint, from the signer
through another channel, and check it before anything else. `ssh-keygen -l -f
public-key.pub` prints the fingerprint above.

## With assay

    assay verify PACK_FOLDER --key SIGNER-PUBLIC-KEY.pem

(or `--fingerprint {key_id}`, or `--trusted-keys FOLDER` for a folder of
trusted PEM public keys). It checks every signature file, every file's
SHA-256, the hash chain of `records.jsonl`, the checkpoint signature and the
PDF signature of `report.pdf` when it has one, and exits 0 only when all of
them hold. With `--checkpoint FILE`, a checkpoint exported earlier with
`assay ledger checkpoint --out FILE`, it also proves that the pack's records
extend that checkpoint, and checks the checkpoint's RFC 3161 timestamp when
it has one. With `--reevaluate`, it judges every control again from the
facts, definitions and params that `records.jsonl` records, at the run's
time, and exits 4 when a recorded status or assertion outcome differs.

{sampling_section}## Without assay: Linux (OpenSSL 3 and GNU coreutils)

Run these in the pack folder. Replace `public-key.pem` with the copy of the
signer's key that you obtained yourself if you have one.

```sh
openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
sha256sum -c SHA256SUMS
```

The first command must print `Signature Verified Successfully`. The second
must print `OK` for every file.

## Without assay: macOS (OpenSSH ssh-keygen and shasum)

Run these in the pack folder. `allowed_signers` trusts the key of the pack
for the principal `{principal}`. Replace its key with the signer's key that
you obtained yourself if you have one.

```sh
ssh-keygen -Y verify -f allowed_signers -I {principal} -n {namespace} -s manifest.sshsig < SHA256SUMS
shasum -a 256 -c SHA256SUMS
```

The first command must print `Good "{namespace}" signature for {principal}`.
The second must print `OK` for every file. The same commands work on Linux
where OpenSSH and Perl's `shasum` are installed.

## What the routes cover

Both routes prove that every file listed in `SHA256SUMS` is exactly as
signed. `SHA256SUMS` lists every file of the pack except itself and the
signature files: `SHA256SUMS.sig` (checked by openssl), `manifest.sshsig`
(checked by ssh-keygen), and `manifest.sig` and `attestation.dsse.json`, which
only `assay verify` checks. A change to any listed file or to `SHA256SUMS`
fails both routes. `manifest.json` is listed in `SHA256SUMS` too.
`attestation.dsse.json` is an in-toto statement of the same digests in a DSSE
envelope, for tools that read in-toto attestations.

{pdf_section}A file that is in the folder but not in `SHA256SUMS` is not covered by the
signature: `assay verify` rejects such a pack, and neither `sha256sum -c` nor
`shasum -c` notices it, so compare the folder's listing with `SHA256SUMS` by
eye.
"""


PDF_SECTION = """\
`report.pdf` also carries its own PAdES signature (the invisible field
`{field}`), made with an ECDSA P-256 key whose self-signed certificate is
embedded in the signature. A PDF reader shows that the document is unmodified
since it was signed, but it shows the signer as unknown or not trusted,
because no certificate authority vouches for a self-signed certificate. The
checks above, not the reader, prove who signed the pack.

"""


SAMPLING_SECTION = """\
## For auditors: sampling

    assay population CONTROL --pack PACK_FOLDER --of runs
    assay sample CONTROL --pack PACK_FOLDER --of runs --size N --seed TEXT --key YOUR-KEY.pem
    assay verify-sample PACK_FOLDER SAMPLE.json --key SIGNER-PUBLIC-KEY.pem --sample-key YOUR-KEY.pub.pem

`assay population` lists every run, evidence record (`--of evidence`) or
event inside evidence (`--of events`) behind a control's results in this
pack's period, each with a stable id. `assay sample` selects the N items
with the smallest SHA-256 of the UTF-8 seed, a 0x00 byte and the UTF-8 id,
so anyone with the seed can draw the same sample. It writes the whole
population and the selection to a sample file beside the pack, signed with
your key. `assay verify-sample` verifies the pack, then recomputes the
population from the pack and the selection from the seed, and exits 4 when
either differs from the sample file.

"""

RUN_PACK_SAMPLING = """\
## For auditors: sampling

Sampling works on period packs: ask for one with `assay pack --period
START..END`, then follow its VERIFY.md.

"""


def verify_markdown(key_id: str, *, pdf_signed: bool = False, period: bool = False) -> str:
    """Return the VERIFY.md text of a pack signed by the key `key_id`.

    With `pdf_signed`, it also describes the PAdES signature of report.pdf.
    With `period` (a period pack), it describes how auditors sample it; a run
    pack states that sampling needs a period pack.
    """
    pdf_section = PDF_SECTION.format(field=PDF_FIELD_NAME) if pdf_signed else ""
    return VERIFY_TEMPLATE.format(
        key_id=key_id, principal=PACK_PRINCIPAL, namespace=PACK_NAMESPACE, pdf_section=pdf_section,
        sampling_section=SAMPLING_SECTION if period else RUN_PACK_SAMPLING,
    )

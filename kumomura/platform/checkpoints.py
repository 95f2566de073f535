"""Signed checkpoints of each municipality's audit chain, kept outside the database.

The hash chain alone proves only that the log agrees with itself: whoever can write the
database can cut its tail and move the tip back, or rebuild the whole chain from the
first entry. A checkpoint fixes the chain's tip (sequence and hash) under an Ed25519
signature whose key is not in the database (``KUMOMURA_AUDIT_SIGNING_KEY``), appended to
a file per municipality outside it (``KUMOMURA_AUDIT_CHECKPOINT_DIR``), copied beside
every backup (the second site) and into the town hall's package. ``verify`` then
checks the chain against the latest checkpoint: a chain shorter than a signed tip, or one
whose entry at a signed sequence has another hash, is named.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import select

from kumomura.platform.audit import VerifyResult, audit_head, audit_log, seal
from kumomura.platform.audit import verify as verify_chain
from kumomura.platform.core.config import Settings, get_settings
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.storage.db import Database


@dataclass(frozen=True)
class Checkpoint:
    lg_code: str
    seq: int
    hash: str
    at: str
    signature: str

    def message(self) -> bytes:
        """What is signed: the municipality, the tip's sequence and hash, and the time."""
        return f"kumomura-audit-checkpoint:{self.lg_code}:{self.seq}:{self.hash}:{self.at}" \
            .encode()


def _key_path(settings: Settings) -> Path:
    return settings.audit_signing_key or settings.data_dir / "keys" / "audit-signing.pem"


def checkpoint_dir(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.audit_checkpoint_dir or settings.data_dir / "audit-checkpoints"


def signing_key(settings: Settings | None = None) -> Ed25519PrivateKey:
    """The signing key; an embedded deployment makes one on first use (mode 600)."""
    path = _key_path(settings or get_settings())
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise TypeError(f"{path}: not an Ed25519 private key")
    return loaded


def file_of(lg_code: str, settings: Settings | None = None) -> Path:
    return checkpoint_dir(settings) / f"{lg_code}.jsonl"


def sign(db: Database, lg_code: str, settings: Settings | None = None) -> Checkpoint:
    """Sign the chain's current tip and append it to the municipality's checkpoint file."""
    seal(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        seq, tip = conn.execute(select(audit_head.c.last_seq, audit_head.c.last_hash)
                                .where(audit_head.c.id == 1)).one()
    unsigned = Checkpoint(lg_code, int(seq), str(tip), utcnow().isoformat(), "")
    signature = signing_key(settings).sign(unsigned.message())
    point = Checkpoint(**{**unsigned.__dict__,
                          "signature": base64.b64encode(signature).decode("ascii")})
    path = file_of(lg_code, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(point.__dict__, sort_keys=True) + "\n")
    return point


def _lines(lg_code: str, settings: Settings | None) -> list[str]:
    path = file_of(lg_code, settings)
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def latest(lg_code: str, public_key: Ed25519PublicKey,
           settings: Settings | None = None) -> Checkpoint | None:
    """The last checkpoint whose signature holds; a forged line is skipped, not trusted."""
    found = None
    for line in _lines(lg_code, settings):
        try:
            point = Checkpoint(**json.loads(line))
            public_key.verify(base64.b64decode(point.signature), point.message())
        except (ValueError, TypeError, InvalidSignature):
            continue
        if point.lg_code == lg_code and (found is None or point.seq >= found.seq):
            found = point
    return found


def verify(db: Database, lg_code: str, settings: Settings | None = None) -> VerifyResult:
    """The chain checked in itself, then against the latest signed checkpoint."""
    result = verify_chain(db, lg_code)
    if not result.ok:
        return result
    settings = settings or get_settings()
    lines = _lines(lg_code, settings)
    if not lines:
        return result  # never signed yet: the chain is all there is to check
    if not _key_path(settings).exists():
        return VerifyResult(False, result.checked, None, (
            f"the signing key {_key_path(settings)} is missing: the {len(lines)} checkpoints "
            "cannot be checked (restore the key from where it is kept)"))
    point = latest(lg_code, signing_key(settings).public_key(), settings)
    if point is None:
        return VerifyResult(False, result.checked, None, (
            f"none of the {len(lines)} checkpoints is signed with this deployment's key"))
    if result.checked < point.seq:
        return VerifyResult(False, result.checked, result.checked + 1, (
            f"entries {result.checked + 1} to {point.seq} are missing: the chain ends before "
            f"the tip signed at {point.at} (cut, and the tip moved back)"))
    with db.tenant_tx(lg_code) as conn:
        at_point = conn.execute(select(audit_log.c.hash)
                                .where(audit_log.c.seq == point.seq)).scalar_one()
    if at_point != point.hash:
        return VerifyResult(False, result.checked, point.seq, (
            f"entry {point.seq} is not the one signed at {point.at}: the chain was rebuilt"))
    return result

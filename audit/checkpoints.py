"""Signed checkpoints of the audit chain: its head (`seq`, `hash`) and the time, signed with Ed25519, written as a
file outside the database (AUDIT_CHECKPOINT_DIR; mount an object-store bucket or a write-once volume there).

Someone who can rewrite the database can recompute every hash and move the chain head; they cannot forge a signed
checkpoint without the key, which lives in the environment, not in the database. Verifying the chain against the
checkpoints (audit.selectors.audit_chain_verify) therefore catches what the chain alone cannot: a tail cut off
together with the head moved back, or a rewritten history whose hashes were all recomputed.

Keys: AUDIT_SIGNING_KEY, the base64 of a 32-byte Ed25519 private key, is needed only where checkpoints are signed
(the Celery worker running the hourly task, or a shell); AUDIT_VERIFY_KEYS lists the public keys (base64, 32
bytes) whose checkpoints are accepted, which is all that verifying needs (the web processes, an auditor's laptop).
Production refuses to start with neither; outside production a key is derived from SECRET_KEY when none is set.
"""

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from audit.canonical import format_time
from rwa_service.exceptions import ValidationFailed


class CheckpointRejected(ValidationFailed):
    """A checkpoint file that is malformed, signed by an unknown key or whose signature does not verify."""

    code = "checkpoint_rejected"
    title = "Checkpoint rejected"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain's event `seq` had hash `hash` at `signed_at`."""

    seq: int
    hash: str
    signed_at: str
    key_id: str
    signature: str

    def signed_bytes(self) -> bytes:
        fields = {"seq": self.seq, "hash": self.hash, "signed_at": self.signed_at, "key_id": self.key_id}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def signing_key() -> Ed25519PrivateKey:
    """The private key; ImproperlyConfigured where none is configured (and none may be derived)."""
    configured = settings.AUDIT_SIGNING_KEY
    if not configured and not settings.AUDIT_KEY_FROM_SECRET:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY is not set here: checkpoints are signed where it is.")
    if configured:
        try:
            seed = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise ValueError("AUDIT_SIGNING_KEY must be base64.") from exc
        if len(seed) != 32:
            raise ValueError("AUDIT_SIGNING_KEY must be the base64 of 32 bytes (an Ed25519 private key).")
        return Ed25519PrivateKey.from_private_bytes(seed)
    seed = hashlib.sha256(f"audit-checkpoint:{settings.SECRET_KEY}".encode()).digest()  # never in production
    return Ed25519PrivateKey.from_private_bytes(seed)


def verify_keys() -> dict[str, Ed25519PublicKey]:
    """The public keys whose checkpoints are accepted, by key id: AUDIT_VERIFY_KEYS and the signing key's own."""
    keys = []
    if settings.AUDIT_SIGNING_KEY or settings.AUDIT_KEY_FROM_SECRET:
        keys.append(signing_key().public_key())
    for encoded in settings.AUDIT_VERIFY_KEYS:
        try:
            keys.append(Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded, validate=True)))
        except ValueError as exc:
            raise ImproperlyConfigured("AUDIT_VERIFY_KEYS must list base64 Ed25519 public keys (32 bytes).") from exc
    return {key_id(key): key for key in keys}


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The base64 public key to list in AUDIT_VERIFY_KEYS where checkpoints are verified."""
    return base64.b64encode(_raw_public(key.public_key())).decode()


def checkpoint_sign(*, seq: int, hash: str) -> Checkpoint:
    """Signs `seq` and `hash` as of now."""
    key = signing_key()
    unsigned = Checkpoint(seq=seq, hash=hash, signed_at=format_time(timezone.now()), key_id=key_id(key.public_key()),
                          signature="")  # fmt: skip
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode()
    return Checkpoint(**{**asdict(unsigned), "signature": signature})


def audit_checkpoint_write(*, directory: Path | None = None) -> tuple[Checkpoint, Path]:
    """Signs the chain head as it stands and writes it to the checkpoint directory (atomically: a reader never
    sees half a file). Returns the checkpoint and its path."""
    from audit.selectors import audit_head  # selectors read checkpoints: imported here, not at the top

    seq, hash_ = audit_head()
    checkpoint = checkpoint_sign(seq=seq, hash=hash_)
    directory = Path(directory or settings.AUDIT_CHECKPOINT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = checkpoint.signed_at.replace(":", "").replace("-", "").replace(".", "")
    path = directory / f"checkpoint-{seq:012d}-{stamp}.json"
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(asdict(checkpoint), out, sort_keys=True, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return checkpoint, path


def checkpoint_load(path: Path) -> Checkpoint:
    """Reads a checkpoint file and checks its signature against the accepted keys; CheckpointRejected otherwise."""
    try:
        fields = json.loads(Path(path).read_text(encoding="utf-8"))
        checkpoint = Checkpoint(
            seq=int(fields["seq"]), hash=str(fields["hash"]), signed_at=str(fields["signed_at"]),
            key_id=str(fields["key_id"]), signature=str(fields["signature"]),
        )  # fmt: skip
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointRejected(f"{path}: not a readable checkpoint ({exc}).") from exc
    key = verify_keys().get(checkpoint.key_id)
    if key is None:
        raise CheckpointRejected(f"{path}: signed by an unknown key {checkpoint.key_id}.")
    try:
        key.verify(signature, checkpoint.signed_bytes())
    except InvalidSignature as exc:
        raise CheckpointRejected(f"{path}: the signature does not verify.") from exc
    return checkpoint


def checkpoints_load(*, directory: Path | None = None) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint in the directory that verifies, oldest first, and a reason for each file rejected."""
    directory = Path(directory or settings.AUDIT_CHECKPOINT_DIR)
    accepted, rejected = [], []
    for path in sorted(directory.glob("checkpoint-*.json")) if directory.is_dir() else []:
        try:
            accepted.append(checkpoint_load(path))
        except CheckpointRejected as exc:
            rejected.append(exc.detail)
    accepted.sort(key=lambda checkpoint: (checkpoint.seq, checkpoint.signed_at))
    return accepted, rejected

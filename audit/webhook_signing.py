"""The signature of a webhook delivery, and how a receiver checks it.

Header `X-RWA-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (the scheme Stripe uses): the
timestamp is signed with the body, so a captured request cannot be replayed later than the receiver's tolerance.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-RWA-Signature"


def webhook_signature(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def webhook_signature_valid(*, secret: str, body: bytes, header: str, tolerance_seconds: int = 300) -> bool:
    """What a receiver runs: the header's HMAC matches this body and its time is within the tolerance."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        moment = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - moment) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, body=body, timestamp=moment).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))

"""The exact bytes a promotion is signed over: canonical JSON (RFC 8785) of the payload, its SHA-256, and the
hash chain of a request's signatures.

A payload holds only strings, integers, booleans, null, lists and objects once normalised: a Decimal becomes
its string, a finite float the string of its `repr` (so no float formatting ever enters the signed bytes), a
datetime its ISO form. NaN, infinities and other types are refused. The stored payload is the normalised one,
so what is read back from the database canonicalises to the same bytes on SQLite and PostgreSQL alike.

Signature hash = SHA-256 over the canonical JSON of {request, step, role, user, decision, note, signed_at,
payload_digest, previous_hash}; the first signature of a request chains to 64 zeros.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import rfc8785

from neolight.errors import ApplicationError

GENESIS = "0" * 64


def payload_normalise(value: Any, path: str = "payload") -> Any:
    """`value` with Decimals, floats and datetimes as strings and tuples as lists; refuses what JSON cannot say exactly."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise ApplicationError(f"{path}: {value} is beyond the integers JSON holds exactly; send it as a string.",
                                   field="payload")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ApplicationError(f"{path}: {value} cannot be signed (not a finite number).", field="payload")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ApplicationError(f"{path}: {value} cannot be signed (not a finite number).", field="payload")
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ApplicationError(f"{path}: key {key!r} is not a string.", field="payload")
            out[key] = payload_normalise(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [payload_normalise(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise ApplicationError(f"{path}: a {type(value).__name__} cannot be signed.", field="payload")


def payload_canonical(payload: Any) -> bytes:
    """The RFC 8785 canonical JSON of the normalised `payload`: the bytes signers approve."""
    return rfc8785.dumps(payload_normalise(payload))


def payload_digest(payload: Any) -> str:
    """SHA-256 of `payload_canonical(payload)`, 64 hex digits."""
    return hashlib.sha256(payload_canonical(payload)).hexdigest()


def payload_genome(payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The family and parameters a signed payload deploys, with the floats `payload_normalise` wrote as their
    `repr` read back as floats (a parameter is a number or a choice's name, never a numeral string)."""
    def number(value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = float(value)
            except ValueError:
                return value
            return parsed if repr(parsed) == value else value
        return value

    return payload["family"], {name: number(value) for name, value in payload["params"].items()}


def signed_at_text(moment: datetime) -> str:
    """A signature's time as it enters its hash: UTC, microseconds (what both databases store)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def signature_hash(*, request_id: int, step: int, role: str, user_id: int, decision: str, note: str,
                   signed_at: datetime, payload_digest: str, previous_hash: str) -> str:
    """SHA-256 of the canonical JSON of one signature's fields and the hash it chains to."""
    fields = {"request": request_id, "step": step, "role": role, "user": user_id, "decision": decision, "note": note,
              "signed_at": signed_at_text(signed_at), "payload_digest": payload_digest, "previous_hash": previous_hash}
    return hashlib.sha256(rfc8785.dumps(fields)).hexdigest()


@dataclass(frozen=True)
class Broken:
    """A signature that does not verify, and why."""

    request_id: int
    signature_id: int | None  # None: the request itself (e.g. approved without its chain)
    reason: str

    def __str__(self) -> str:
        row = f"signature {self.signature_id}" if self.signature_id is not None else "the request"
        return f"request {self.request_id}, {row}: {self.reason}"


def chain_verify(request, signatures: Iterable, known_digests: Iterable[str] = ()) -> list[Broken]:
    """Every signature of `request` (taken in insertion order) that does not verify: its hash recomputed, its link
    to the previous one, its step and role against the request's roles, its requester, and its payload digest
    (the request's current one or one it had before, `known_digests`)."""
    broken: list[Broken] = []
    previous = GENESIS
    digests = {request.payload_digest, *known_digests}
    steps: dict[str, int] = {}
    for sig in sorted(signatures, key=lambda s: s.pk):
        reasons = []
        recomputed = signature_hash(request_id=sig.request_id, step=sig.step, role=sig.role, user_id=sig.user_id,
                                    decision=sig.decision, note=sig.note, signed_at=sig.signed_at,
                                    payload_digest=sig.payload_digest, previous_hash=sig.previous_hash)
        if recomputed != sig.hash:
            reasons.append("its hash does not match its fields (changed or forged)")
        if sig.previous_hash != previous:
            reasons.append("it does not chain to the signature before it")
        roles = request.roles or []
        if sig.step >= len(roles) or roles[sig.step] != sig.role:
            reasons.append(f"step {sig.step} is not the role {sig.role!r} in the request's chain {roles}")
        if sig.step != steps.get(sig.payload_digest, 0):
            reasons.append(f"step {sig.step} signed out of order")
        if sig.requested_by_id != request.requested_by_id or (sig.user_id is not None and sig.user_id == request.requested_by_id):
            reasons.append("its requester is not the request's, or the requester signed")
        if sig.payload_digest not in digests:
            reasons.append("it was made over a payload the request never had")
        broken.extend(Broken(sig.request_id, sig.pk, reason) for reason in reasons)
        steps[sig.payload_digest] = sig.step + 1
        previous = sig.hash
    return broken

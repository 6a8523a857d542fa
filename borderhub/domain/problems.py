"""The one shape every validation finding takes, from the Avro converter to the domain checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # dotted field path with list indices, e.g. "items.0.estimated_value.currency"; "" = whole record
    code: str  # machine-readable, snake_case, e.g. "mrz_check_digit"
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


def join_path(*parts: object) -> str:
    """Dotted path from parts, skipping empty ones, so callers can nest without caring about the root."""
    return ".".join(str(p) for p in parts if p != "" and p is not None)

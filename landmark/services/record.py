"""What the stack remembers about a running service (stored in the state file)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceRecord:
    """One started service: its process (group leader) id, the address clients use, its log."""

    name: str
    pid: int
    url: str
    log: str
    ports: dict[str, int] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ServiceRecord:
        return cls(name=str(raw["name"]), pid=int(raw["pid"]), url=str(raw["url"]), log=str(raw["log"]),
                   ports={str(k): int(v) for k, v in dict(raw.get("ports") or {}).items()},
                   extra={str(k): str(v) for k, v in dict(raw.get("extra") or {}).items()})


@dataclass(frozen=True)
class Credentials:
    """The stack's secrets, drawn once per services folder and kept (mode 0600) so data stays readable
    across `down` / `up`: the PostgreSQL password and the object store's access key pair."""

    db_user: str
    db_password: str
    s3_access_key: str
    s3_secret_key: str

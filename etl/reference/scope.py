"""Which hospitals a user may see: one Scope value, built by `scope_for`, put into SQL by `clause`.

The policy (tests/test_access.py checks it route by route):

- A hospital user (role 'hospital') sees its own hospital only: its rating row, its page, its
  returns, their files and findings. Every other hospital's id answers 404, never 403, so ids
  reveal nothing. Its scope is Scope.hospital(code).
- Reviewers, administrators and leaders see the whole province: Scope.province(). Which pages a
  role may open at all (leaders: bulletins and the map; hospitals: no map, no bulletins, no
  submissions list) is the role check of app/auth.py `login_required`, not the scope's.
- Work done for the province rather than for a user (the CLI, the bulletin, exports, scoring)
  uses Scope.province().

The scope is applied in the query itself (`clause`), never by filtering rows afterwards and never
in a template. It is a frozen value so a later kind ('prefecture', with the region code of a
prefecture, matched through the SQL function prefecture_of) is one more branch of `clause`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from psycopg import sql

KINDS = ("province", "hospital")


@dataclass(frozen=True)
class Scope:
    """What a user may see. Build with Scope.province(), Scope.hospital(code) or scope_for(user)."""
    kind: Literal["province", "hospital"]
    hospital_code: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown scope kind {self.kind!r}")
        if (self.kind == "hospital") != bool(self.hospital_code):
            raise ValueError("a hospital scope needs a hospital code, and only it")

    @classmethod
    def province(cls) -> Scope:
        return cls("province")

    @classmethod
    def hospital(cls, code: str) -> Scope:
        return cls("hospital", code)

    @property
    def is_province(self) -> bool:
        return self.kind == "province"

    def clause(self, column: str) -> tuple[sql.Composable, dict]:
        """Return (condition, params) limiting rows to this scope over a hospital-code column.

        `column` is an identifier such as "h.code" or "hospital_code" (quoted as one, never
        formatted in). The condition uses named placeholders, so the query's own parameters
        must be named too: `conn.execute(sql.SQL("... WHERE {}").format(cond), params | extra)`.
        A province scope gives TRUE and no parameters.
        """
        if self.kind == "province":
            return sql.SQL("true"), {}
        ident = sql.Identifier(*column.split("."))
        return sql.SQL("{} = {}").format(ident, sql.Placeholder("scope_hospital")), \
            {"scope_hospital": self.hospital_code}


def scope_for(user: dict) -> Scope:
    """Return the scope of a user row (app_user: role, hospital_code)."""
    if user["role"] == "hospital":
        return Scope.hospital(user["hospital_code"])
    return Scope.province()

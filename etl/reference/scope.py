"""Which hospitals a user may see: one Scope value, built by `scope_for`, put into SQL by `clause`.

The policy (tests/app/test_access.py checks it route by route):

- A hospital user (role 'hospital') sees its own hospital only: its rating row, its page, its
  returns, their files and findings. Every other hospital's id answers 404, never 403, so ids
  reveal nothing. Its scope is Scope.hospital(code).
- A prefecture user (roles 'prefecture' and 'prefecture-leader', bound to a level-2 region)
  sees the hospitals whose region lies in that prefecture (SQL function prefecture_of):
  Scope.prefecture(region_code). Other hospitals' ids, returns, files, other prefectures'
  regions and bulletins answer 404 as for a hospital user, so ids reveal nothing.
- Provincial reviewers, administrators and leaders see the whole province: Scope.province().
- Work done for the province rather than for a user (the CLI, the province bulletin,
  exports, scoring) uses Scope.province(); a prefecture's bulletin is composed under
  Scope.prefecture(region) and archived with its region.

Which pages a role may open at all is the role check of app/auth.py `login_required`, not
the scope's (tests/app/test_access.py POLICY lists every route):

- 'prefecture' (市州审核员) opens what a provincial reviewer opens, for its prefecture: the
  overview and its movements, the ratings export, hospital pages, returns with their files,
  findings and annotated workbooks, the blank template, 报送情况 (by county), the mapping
  versions and the simulation (its hospitals only), the map and region pages, and its
  prefecture's bulletins. Accepting and returning returns belong to the review workflow.
- 'prefecture-leader' (市州领导) opens what a provincial leader opens: its prefecture's
  bulletins and the map (no hospital pages, no rating table).
- Neither opens an administrator's page (thresholds, users, audit log, periods,
  boundaries, mapping upload, publishing a bulletin), nor uploads returns.
- Hospitals: no map, no bulletins, no submissions list.

The scope is applied in the query itself (`clause`), never by filtering rows afterwards and never
in a template.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from psycopg import sql

KINDS = ("province", "prefecture", "hospital")


@dataclass(frozen=True)
class Scope:
    """What a user may see. Build with Scope.province(), Scope.prefecture(region),
    Scope.hospital(code) or scope_for(user)."""
    kind: Literal["province", "prefecture", "hospital"]
    hospital_code: str | None = None
    region_code: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown scope kind {self.kind!r}")
        if (self.kind == "hospital") != bool(self.hospital_code):
            raise ValueError("a hospital scope needs a hospital code, and only it")
        if (self.kind == "prefecture") != bool(self.region_code):
            raise ValueError("a prefecture scope needs a region code, and only it")

    @classmethod
    def province(cls) -> Scope:
        return cls("province")

    @classmethod
    def hospital(cls, code: str) -> Scope:
        return cls("hospital", code)

    @classmethod
    def prefecture(cls, region_code: str) -> Scope:
        return cls("prefecture", region_code=region_code)

    @property
    def is_province(self) -> bool:
        return self.kind == "province"

    @property
    def is_prefecture(self) -> bool:
        return self.kind == "prefecture"

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
        if self.kind == "prefecture":
            return sql.SQL("{} IN (SELECT code FROM hospital WHERE prefecture_of(region_code) = {})").format(
                ident, sql.Placeholder("scope_prefecture")), {"scope_prefecture": self.region_code}
        return sql.SQL("{} = {}").format(ident, sql.Placeholder("scope_hospital")), \
            {"scope_hospital": self.hospital_code}

    def covers(self, region_code: str) -> bool:
        """Whether a region (a boundary's code) lies in this scope: every region for the
        province, the prefecture and its counties (same first four digits) for a prefecture."""
        if self.kind == "province":
            return True
        return self.kind == "prefecture" and str(region_code)[:4] == self.region_code[:4]

    def region_clause(self, column: str) -> tuple[sql.Composable, dict]:
        """Return (condition, params) limiting a region-code column to the regions this scope
        covers: every region for the province, the prefecture and its counties for a
        prefecture, none for a hospital (it has no region pages). Placeholders as `clause`."""
        if self.kind == "province":
            return sql.SQL("true"), {}
        if self.kind == "hospital":
            return sql.SQL("false"), {}
        ident = sql.Identifier(*column.split("."))
        return sql.SQL("prefecture_of({}) = {}").format(ident, sql.Placeholder("scope_prefecture")), \
            {"scope_prefecture": self.region_code}


def area_name(conn, scope: Scope) -> str:
    """What a page calls the area a scope covers: the prefecture's name (成都市), else the
    province's (四川省), else 全省."""
    code = scope.region_code if scope.is_prefecture else None
    row = conn.execute("SELECT name FROM region WHERE code = %(code)s OR (%(code)s::text IS NULL AND level = 1) "
                       "ORDER BY code LIMIT 1", {"code": code}).fetchone()
    return row["name"] if row else "全省"


def scope_for(user: dict) -> Scope:
    """Return the scope of a user row (app_user: role, hospital_code, region_code)."""
    if user["role"] == "hospital":
        return Scope.hospital(user["hospital_code"])
    if user["role"] in ("prefecture", "prefecture-leader"):
        return Scope.prefecture(user["region_code"])
    return Scope.province()

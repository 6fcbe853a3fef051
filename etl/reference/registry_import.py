"""Loading a registry file from the web: a preview of what it would add, change and leave out,
then, as the admin confirmed it, applied in one transaction.

The file is validated as `load-hospitals` validates it (`registry.read_registry`). A hospital
in the registry but not in the file is listed as "not in the file" and is closed only when the
admin ticks it. A closed hospital found in the file is listed, not reopened. The preview
carries a digest of what it showed; applying recomputes the preview and refuses when the digest
differs (the registry or the file changed in between), so what is applied is what was seen.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import psycopg

from etl.common import audit
from etl.common.errors import HemonError
from etl.reference import registry_changes as changes
from etl.reference.province import require as require_province
from etl.reference.registry import known_region_codes, read_registry


def preview(conn: psycopg.Connection, path: Path) -> dict:
    """What loading `path` would do: added, changed (with {field: [before, after]}), unchanged
    (a count), closed_listed (closed hospitals in the file), missing (open hospitals not in the
    file) and `digest`. Raises InputRejected (every bad line) as `load-hospitals` does."""
    rows = read_registry(path, known_region_codes(conn), require_province(conn)["name"])
    current = {r["code"]: r for r in conn.execute(
        """SELECT h.*, pref.name AS prefecture_name FROM hospital h
           LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code) ORDER BY h.code""")}
    added, changed, closed_listed, unchanged = [], [], [], 0
    for row in rows:
        before = current.get(row["code"])
        if before is None:
            added.append(row)
            continue
        diff = changes.diff(before, row)
        if before["closed_from"]:
            closed_listed.append({"code": row["code"], "name": before["name"], "closed_from": before["closed_from"],
                                  "changes": diff})
        elif diff:
            changed.append({"code": row["code"], "name": before["name"], "row": row, "changes": diff,
                            "change_list": [{"field": changes.LABELS[k], "before": v[0], "after": v[1]}
                                            for k, v in diff.items()]})
        else:
            unchanged += 1
    in_file = {r["code"] for r in rows}
    missing = [{"code": c, "name": h["name"], "level": h["level"], "prefecture_name": h["prefecture_name"]}
               for c, h in current.items() if c not in in_file and not h["closed_from"]]
    digest = hashlib.sha256(json.dumps(
        [[r["code"] for r in added], [[c["code"], c["changes"]] for c in changed],
         [c["code"] for c in closed_listed], [m["code"] for m in missing]],
        ensure_ascii=False, default=str).encode()).hexdigest()[:32]
    return {"rows": len(rows), "added": added, "changed": changed, "unchanged": unchanged,
            "closed_listed": closed_listed, "missing": missing, "digest": digest}


def apply(conn: psycopg.Connection, path: Path, digest: str, close_codes: list[str], close_period: str | None,
          reason: str | None, user: dict | None, thresholds_file: Path, file_name: str = "") -> dict:
    """Apply the previewed file in one transaction: insert the added, update the changed, close
    the ticked `close_codes` (each must be listed as not in the file) from `close_period`.
    Returns the counts. Nothing is written when anything is refused."""
    with conn.transaction():
        # One import at a time: a second waits, then sees the first's result and a new digest.
        conn.execute("SELECT pg_advisory_xact_lock(7145006, 0)")
        seen = preview(conn, path)
        if seen["digest"] != digest:
            raise HemonError("名录或文件在预览后已有变化，请重新上传预览后再导入")
        missing = {m["code"] for m in seen["missing"]}
        unknown = sorted(set(close_codes) - missing)
        if unknown:
            raise HemonError(f"只能关闭“文件中没有”的机构：{'、'.join(unknown)}")
        for row in seen["added"]:
            conn.execute(changes.INSERT_SQL, row | {"opened_from": None})
            changes.event(conn, row["code"], "import", user, changes.diff({}, row, tuple(changes.FIELDS.values())),
                          reason=file_name or None)
        for item in seen["changed"]:
            conn.execute(changes.UPDATE_SQL, item["row"])
            changes.event(conn, item["code"], "import", user, item["changes"], reason=file_name or None)
        changes.rate_new(conn, [r["code"] for r in seen["added"]], thresholds_file)
        for code in sorted(set(close_codes)):
            changes.close(conn, code, close_period, reason or f"名录导入（{file_name}）中没有该机构", user,
                          thresholds_file)
        result = {"added": len(seen["added"]), "changed": len(seen["changed"]), "closed": len(set(close_codes)),
                  "unchanged": seen["unchanged"]}
        audit.record(conn, user, "registry.import", file_name or None,
                     {"changed": {c["code"]: {k: v[0] for k, v in c["changes"].items()} for c in seen["changed"]}},
                     result | {"added_codes": [r["code"] for r in seen["added"]],
                               "changed_fields": {c["code"]: {k: v[1] for k, v in c["changes"].items()} for c in seen["changed"]},
                               "closed_codes": sorted(set(close_codes))})
    return result


def load(conn: psycopg.Connection, path: Path, thresholds_file: Path, user: dict | None = None) -> dict:
    """`load-hospitals`: the whole file applied as the web import applies it — the added and
    the changed recorded as registry events, the added rated at once — closing nothing (a
    hospital not in the file stays as it is). Returns apply's counts and `rows`, the file's."""
    seen = preview(conn, path)
    done = apply(conn, path, seen["digest"], [], None, None, user, thresholds_file, Path(path).name)
    return done | {"rows": seen["rows"]}


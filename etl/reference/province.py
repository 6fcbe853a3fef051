"""The province this deployment serves: chosen once (init-province), named in every title.

`initialise(conn, code)` loads the province's packaged divisions (data/regions/<code>.csv)
and records {"code", "name"} as the deployment setting "province"; it is the only way
regions get into a database (the demo and the bench call it too). Everything that needs the
province reads it here: `current` (None before set-up), `require` (raises ProvinceNotSet,
whose message tells the operator what to run). Nothing falls back to a default province.
"""
from __future__ import annotations

import csv
from functools import lru_cache

import psycopg

from etl.common import audit
from etl.common.errors import HemonError, InputRejected
from etl.reference import deployment
from etl.reference.regions import REGIONS_DIR, packaged_regions, store

SETTING = "province"
NOT_SET = "尚未初始化省份，请运行 init-province（flask --app wsgi init-province 省份代码，如 370000）"
# Two-key advisory lock of province set-up (the scorers use 7145004 and 7145005 with one key).
SETUP_LOCK = (7145006, 0)


class ProvinceNotSet(HemonError):
    """The deployment has no province yet: nothing province-wide can be shown or loaded."""

    def __init__(self):
        super().__init__(NOT_SET)


@lru_cache(maxsize=1)
def available() -> dict[str, str]:
    """Code → name of every province with packaged divisions (the first row of each file)."""
    found = {}
    for path in sorted(REGIONS_DIR.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            first = next(csv.DictReader(fh))
        found[first["code"]] = first["name"]
    return found


def current(conn: psycopg.Connection) -> dict | None:
    """{"code", "name"} of the deployment's province, or None before init-province."""
    value = deployment.setting(conn, SETTING)
    return {"code": value["code"], "name": value["name"]} if isinstance(value, dict) else None


def require(conn: psycopg.Connection) -> dict:
    """The deployment's province; raises ProvinceNotSet (Chinese message) before set-up."""
    found = current(conn)
    if found is None:
        raise ProvinceNotSet()
    return found


def name(conn: psycopg.Connection, default: str = "") -> str:
    """The province's name for titles ("山东省"), or `default` before set-up."""
    found = current(conn)
    return found["name"] if found else default


def blank(conn: psycopg.Connection) -> bool:
    """True for a database with no province and no hospital: the demo may be built into it."""
    return conn.execute("""SELECT NOT EXISTS (SELECT 1 FROM hospital)
                                  AND NOT EXISTS (SELECT 1 FROM deployment_setting WHERE name = %s) AS blank""",
                        (SETTING,)).fetchone()["blank"]


def initialise(conn: psycopg.Connection, code: str, user: dict | None = None) -> dict:
    """Load province `code`'s divisions and record it as the deployment's province.

    Refuses (InputRejected, nothing changed) a code without packaged divisions, and a
    database already set up for, or holding the divisions of, another province. Running it
    again for the same province reloads its divisions (names updated, nothing removed) and
    is otherwise harmless. Returns {"code", "name", "regions", "first": set up just now}."""
    code = (code or "").strip()
    provinces = available()
    if code not in provinces:
        raise InputRejected(f"未知的省份代码“{code}”：应为 31 个省级行政区之一的 6 位代码，"
                            f"如 370000（山东省）、510000（四川省）")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", SETUP_LOCK)
        existing = current(conn)
        other = conn.execute("SELECT code, name FROM region WHERE level = 1 AND code <> %s ORDER BY code LIMIT 1",
                             (code,)).fetchone()
        # The setting names the province; divisions of another (loaded by hand) count as well.
        was = existing if existing and existing["code"] != code else other
        if was:
            raise InputRejected(f"本数据库已初始化为{was['name']}（{was['code']}），不能再初始化为"
                                f"{provinces[code]}（{code}）；每个省份请使用单独的数据库")
        regions = packaged_regions(code)
        store(conn, regions)
        value = {"code": code, "name": provinces[code]}
        deployment.set_setting(conn, SETTING, value)
        if existing is None:
            audit.record(conn, user, "province.init", f"region:{code}", None, value | {"regions": len(regions)})
    return value | {"regions": len(regions), "first": existing is None}


# The set-up in order (README "Setting up a province"): key, what, the command or page.
STEPS = (
    ("province", "初始化省份（行政区划）", "flask --app wsgi init-province 省份代码"),
    ("hospitals", "导入医疗机构名录", "flask --app wsgi load-hospitals 名录.xlsx"),
    ("mapping", "导入归集口径映射", "flask --app wsgi load-mapping 映射.xlsx --version 名称 --effective YYYY-MM"),
    ("admin", "创建省级管理员", "flask --app wsgi create-user 用户名 --role admin"),
    ("accounts", "为每家医院生成填报账号", "flask --app wsgi create-hospital-users --out 账号.xlsx"),
    ("periods", "开放报告期", "报告期页面：开放报告期"),
)


def checklist(conn: psycopg.Connection) -> list[dict]:
    """The first-run steps with whether each is done and what there is ("16 个市州 …"):
    dicts of key, title, how, done, detail; in the order they are to be taken."""
    found = current(conn)
    n = conn.execute(
        """SELECT (SELECT count(*) FROM region WHERE level = 2) AS prefectures,
                  (SELECT count(*) FROM region WHERE level = 3) AS counties,
                  (SELECT count(*) FROM hospital) AS hospitals,
                  (SELECT count(*) FROM mapping_version) AS mappings,
                  (SELECT count(*) FROM app_user WHERE role = 'admin') AS admins,
                  (SELECT count(*) FROM hospital h
                   WHERE EXISTS (SELECT 1 FROM app_user u WHERE u.hospital_code = h.code)) AS with_account,
                  (SELECT count(*) FROM period) AS periods""").fetchone()
    state = {
        "province": (found is not None, f"{found['name']}：{n['prefectures']} 个地市级、{n['counties']} 个县级区划"
                     if found else "尚未初始化"),
        "hospitals": (n["hospitals"] > 0, f"{n['hospitals']} 家医疗机构"),
        "mapping": (n["mappings"] > 0, f"{n['mappings']} 个映射版本"),
        "admin": (n["admins"] > 0, f"{n['admins']} 名管理员"),
        "accounts": (n["hospitals"] > 0 and n["with_account"] == n["hospitals"],
                     f"{n['with_account']}/{n['hospitals']} 家医院已有账号"),
        "periods": (n["periods"] > 0, f"{n['periods']} 个报告期"),
    }
    return [{"key": key, "title": title, "how": how, "done": state[key][0], "detail": state[key][1]}
            for key, title, how in STEPS]

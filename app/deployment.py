"""This deployment's province on the web and the command line: `init-province`, the first
start with HEMON_PROVINCE, the province's name in every page title, and the page shown
instead of a traceback while no province is set up."""
from __future__ import annotations

import sys

import click
import psycopg
from flask import g, render_template
from flask.cli import with_appcontext

from app.db import get_conn, upgrade
from etl.common.errors import HemonError
from etl.reference import province
from etl.reference.province import ProvinceNotSet


@click.command("init-province")
@with_appcontext
@click.argument("code")
def init_province_command(code):
    """Set the deployment up for province CODE (e.g. 370000): its divisions and its name.
    The first command on a new database, so it brings the schema up to date first."""
    try:
        conn = get_conn()
        upgrade(conn)
        done = province.initialise(conn, code)
    except HemonError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    click.echo(describe(done))
    click.echo("下一步：flask --app wsgi load-hospitals 医疗机构名录.xlsx（见 README“Setting up a province”）")


commands = [init_province_command]


def describe(done: dict) -> str:
    """What initialise did, in a sentence for the operator."""
    if done["first"]:
        return f"已初始化为{done['name']}（{done['code']}），导入行政区划 {done['regions']} 个"
    return f"本数据库已是{done['name']}（{done['code']}），已重新核对行政区划 {done['regions']} 个"


def first_start(conn: psycopg.Connection, code) -> str | None:
    """On `serve` with HEMON_PROVINCE: set that province up unless it already is; a sentence
    saying what was done, or None. Raises HemonError when the database is another province's."""
    code = str(code).strip()        # from_prefixed_env reads 370000 as a number
    found = province.current(conn)
    if found and found["code"] == code:
        return None
    return describe(province.initialise(conn, code))


def _names() -> dict:
    """PROVINCE_NAME ("" before set-up) and DEMO for every template, read once per request."""
    if "deployment" not in g:
        try:
            rows = {r["name"]: r["value"] for r in get_conn().execute(
                "SELECT name, value FROM deployment_setting WHERE name IN ('province', 'demo')")}
        except psycopg.Error:       # an error page must still render when the database cannot
            rows = {}
        found = rows.get("province")
        g.deployment = {"PROVINCE_NAME": found["name"] if isinstance(found, dict) else "",
                        "DEMO": bool(rows.get("demo"))}
    return g.deployment


def _not_set(exc: ProvinceNotSet):
    return render_template("errors/error.html", code=503, title="尚未初始化省份", description=str(exc)), 503


def init_app(app) -> None:
    app.context_processor(_names)
    app.register_error_handler(ProvinceNotSet, _not_set)

"""Every route × every role, as the access table of the accounts issue says; and a hospital
user walking another hospital's ids gets 404 every time. (A prefecture user crawling another
prefecture's ids: tests/app/test_prefecture.py.)"""
import re

import pytest

from etl.attribution import mapping
from etl.cases import attachments
from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns import intake
from reports.bulletin import archive
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_mapping,
    write_registry,
)

ROLES = ("hospital", "reviewer", "admin", "leader", "prefecture", "prefecture-leader")
ALL = set(ROLES)
PROVINCE = {"reviewer", "admin"}
# The province's reviewers and a prefecture's (for its prefecture); readers of bulletins and the map.
REVIEWERS = PROVINCE | {"prefecture"}
READERS = REVIEWERS | {"leader", "prefecture-leader"}
FORECAST_READERS = REVIEWERS | {"prefecture-leader"}
# endpoint -> roles allowed; "public" needs no login. Every endpoint must be listed here.
POLICY = {
    "auth.login": "public",
    "auth.logout": "public",
    "auth.password": ALL,
    # The second login step and enrolment work half-logged-in, so they check the session
    # themselves; without a pending login they send the visitor back to the login page.
    "twofactor.verify": "public",
    "twofactor.enrol": "public",
    "twofactor.disable": ALL,
    "province.index": ALL,
    "province.export_xlsx": REVIEWERS | {"hospital"},
    "hospitals.detail": REVIEWERS | {"hospital"},
    "hospitals.search": REVIEWERS,
    "review.accept": REVIEWERS,
    "review.return_for_revision": REVIEWERS,
    "review.recheck": PROVINCE,
    "review.index": REVIEWERS,
    "review.accept_clean": REVIEWERS,
    "review.reopen_request": {"hospital"},
    "review.reopen_decision": PROVINCE,
    "review.settings": {"admin"},
    "mappings.index": REVIEWERS,
    "mappings.upload": {"admin"},
    "mappings.compare": REVIEWERS,
    "mappings.compare_download": REVIEWERS,
    "mappings.version": REVIEWERS,
    "mappings.download": REVIEWERS,
    "mappings.withdraw": {"admin"},
    "returns.index": REVIEWERS | {"hospital"},
    "returns.template": REVIEWERS | {"hospital"},
    "returns.upload": {"hospital"},
    "returns.result": {"hospital"},
    "returns.result_annotated": {"hospital"},
    "returns.detail": REVIEWERS | {"hospital"},
    "returns.explain": {"hospital"},
    "returns.original": REVIEWERS | {"hospital"},
    "returns.annotated": REVIEWERS | {"hospital"},
    "periods.index": {"admin"},
    "periods.deadline": {"admin"},
    "periods.lock": {"admin"},
    "periods.submissions": REVIEWERS,
    "periods.current_submissions": REVIEWERS,
    "maps.index": READERS,
    "maps.region": READERS,
    "maps.boundaries": {"admin"},
    "maps.upload_boundaries": {"admin"},
    "maps.reset_boundaries": {"admin"},
    "admin.thresholds": {"admin"},
    "admin.audit_log": {"admin"},
    "admin.users": {"admin"},
    "admin.reset_password": {"admin"},
    "admin.unlock": {"admin"},
    "admin.reset_totp": {"admin"},
    "admin.user": {"admin"},
    "admin.disable": {"admin"},
    "admin.enable": {"admin"},
    "admin.role": {"admin"},
    "admin.hospital_accounts": {"admin"},
    "bulletins.index": READERS,
    "bulletins.publish": {"admin"},
    "bulletins.withdraw": {"admin"},
    "bulletins.detail": READERS,
    "bulletins.download": READERS,
    "registry.index": {"admin"},
    "registry.export_xlsx": {"admin"},
    "registry.new": {"admin"},
    "registry.detail": {"admin"},
    "registry.close": {"admin"},
    "registry.reopen": {"admin"},
    "registry.change_code": {"admin"},
    "registry.merge": {"admin"},
    "registry.import_file": {"admin"},
    "registry.import_apply": {"admin"},
    "forecast.index": FORECAST_READERS,
    "forecast.backtest_page": {"admin"},
    "forecast.refresh_backtest": {"admin"},
    "forecast.save_settings": {"admin"},
    # Cases (风险处置): prefecture reviewers act on their prefecture's, prefecture leaders read.
    "cases.index": PROVINCE | {"hospital", "prefecture", "prefecture-leader"},
    "cases.export_xlsx": PROVINCE | {"hospital", "prefecture", "prefecture-leader"},
    "cases.detail": PROVINCE | {"hospital", "prefecture", "prefecture-leader"},
    "cases.plan": {"hospital"},
    "cases.review": PROVINCE | {"prefecture"},
    "cases.note": {"hospital"},
    "cases.attach": PROVINCE | {"hospital", "prefecture"},
    "cases.attachment": PROVINCE | {"hospital", "prefecture", "prefecture-leader"},
    "cases.close": PROVINCE | {"prefecture"},
    "cases.escalate": PROVINCE | {"prefecture"},
    "cases.settings": {"admin"},
}


@pytest.fixture()
def world(app, conn, tmp_path):
    from etl.demo.province import load_regions
    registry.load_regions(conn, load_regions())
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    settings = intake.IntakeSettings.from_config(app.config)
    ids = {}
    for n in (1, 2):
        d = draft(hospital_code(n))
        ids[n] = intake.ingest_file(conn, write_draft(tmp_path, d), settings).return_id
    for role in ROLES:
        # Both hospitals are in 乐山市 (county 511102): the prefecture users are 乐山's.
        create_user(conn, role, "password-123", role, hospital_code(1) if role == "hospital" else None,
                    region_code="511100" if role.startswith("prefecture") else None)
    ids["bulletin"] = archive.publish(conn, "2026-10")["id"]
    # A mapping version in effect (so a withdrawal in the matrix is refused, not carried out).
    ids["mapping"] = mapping.load_mapping(conn, write_mapping(tmp_path / "map.xlsx"), "全省口径", "2026-01")
    ids["prefecture-bulletin"] = archive.publish(conn, "2026-10", region="511100")["id"]
    for n in (1, 2):     # a case per hospital, with an attachment (etl/cases)
        case = conn.execute("""INSERT INTO risk_case (hospital_code, domain, opened_period, plan_due)
                               VALUES (%s, 'debt', '2026-10', current_date) RETURNING id""",
                            (hospital_code(n),)).fetchone()
        ids[f"case{n}"] = case["id"]
        attachments.add(conn, case["id"], None, "plan.pdf", b"%PDF-1.4 test")
    return ids


def url_for_rule(rule, ids, hospital=1, role=None):
    """The rule's URL with ids filled in; a prefecture user's bulletin is its prefecture's."""
    bulletin = ids["prefecture-bulletin"] if role and role.startswith("prefecture") else ids["bulletin"]
    values = {"code": hospital_code(hospital), "return_id": ids[hospital], "seq": 1, "user_id": 1,
              "token": "x" * 32, "case_id": ids[f"case{hospital}"], "period": "2026-10", "bulletin_id": bulletin,
              "name": "bulletin.pdf", "version_id": ids["mapping"]}
    if rule.endpoint == "maps.region":
        values["code"] = "511100"                     # a region code, not a hospital's
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), url)
    return url


def endpoints(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_endpoint_is_in_the_policy(app):
    missing = sorted({r.endpoint for r in endpoints(app)} - set(POLICY))
    assert missing == [], f"declare these endpoints in POLICY: {missing}"


@pytest.mark.parametrize("role", ROLES + ("anonymous",))
def test_role_matrix(app, world, client, auth, role):
    if role != "anonymous":
        assert auth.login(role).status_code == 302
    token = auth.csrf("/auth/login")
    for rule in endpoints(app):
        allowed = POLICY[rule.endpoint]
        url = url_for_rule(rule, world, role=role)
        if rule.endpoint == "auth.logout":
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        where = f"{role} {method} {url}"
        if allowed == "public":
            assert response.status_code < 400, where
        elif role == "anonymous":
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], where
        elif role in allowed:
            # An upload result's token is the uploader's alone: a made-up one is simply not found.
            refused = (401, 403, 500) if "token" in rule.arguments else (401, 403, 404, 500)
            assert response.status_code not in refused, where
        else:
            assert response.status_code == 403, where


def test_hospital_user_gets_404_for_every_other_hospitals_id(app, world, client, auth):
    auth.login("hospital")
    token = auth.csrf("/auth/login")
    checked = 0
    for rule in endpoints(app):
        if "hospital" not in POLICY[rule.endpoint] or not ({"code", "return_id", "case_id"} & set(rule.arguments)):
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url_for_rule(rule, world, hospital=2), method=method,
                               data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 404, rule.rule
        checked += 1
    assert checked >= 3


def test_post_without_csrf_is_refused_everywhere(app, world, client, auth):
    auth.login("admin")
    for rule in endpoints(app):
        if "POST" in rule.methods:
            assert client.post(url_for_rule(rule, world), data={}).status_code == 400, rule.rule


def test_a_hospital_user_cannot_choose_another_hospital(world, client, auth):
    """Where a province user picks a hospital by ?hospital=, a hospital user's scope wins."""
    auth.login("hospital")
    other = hospital_code(2)
    response = client.get(f"/returns/template?period=2026-10&hospital={other}")
    disposition = response.headers["Content-Disposition"]
    assert response.status_code == 200 and hospital_code(1) in disposition and other not in disposition
    for url in (f"/returns/?hospital={other}", "/"):
        page = client.get(url).get_data(as_text=True)
        assert "测试康宁医院1" in page and "测试康宁医院2" not in page and other not in page, url

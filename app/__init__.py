"""The Flask application: `create_app` lists what the platform is made of."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

import config


def create_app(overrides: dict | None = None, env: str | None = None) -> Flask:
    """Build the app; `overrides` win over everything (tests pass INSTANCE_DIR, DATABASE_URL)."""
    overrides = dict(overrides or {})
    env = env or os.environ.get("HEMON_ENV", "development")
    instance_dir = overrides.pop("INSTANCE_DIR", None) or os.environ.get("HEMON_INSTANCE_DIR")
    app = Flask(__name__, instance_path=str(Path(instance_dir).resolve()) if instance_dir else None,
                instance_relative_config=True)
    app.config.from_object(config.BY_NAME[env])
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env("HEMON")
    app.config.update(overrides)
    _ensure_secret_key(app, env)

    from app import (
        admin,
        audit_log,  # noqa: F401 — its routes join the admin blueprint
        auth,
        bulletins,
        cases,
        cli,
        compression,
        db,
        deployment,
        errors,
        forecast,
        hospitals,
        inputs,
        mappings,
        maps,
        periods,
        province,
        registry,
        returns,
        review,
        scheduler,
        security,
        tables,
        twofactor,
        users,
    )
    db.init_app(app)
    security.init_app(app)
    compression.init_app(app)
    inputs.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    deployment.init_app(app)
    tables.init_app(app)
    for area in (auth, twofactor, province, hospitals, maps, returns, review, mappings, periods, admin, bulletins,
                 registry, forecast, cases):
        app.register_blueprint(area.bp)
    # Each area may bring `flask` commands of its own (a list named `commands`).
    cli.init_app(app, extra=[c for area in (hospitals, maps, returns, scheduler, deployment, users, forecast, review, cases) for c in getattr(area, "commands", [])])
    scheduler.init_app(app)
    return app


# Keys seen in examples and tutorials: a production key must not be one of them.
KNOWN_KEYS = {"dev", "secret", "changeme", "change-me", "secret-key", "your-secret-key", "x", "test"}
MIN_KEY_BYTES = 32


def _ensure_secret_key(app: Flask, env: str) -> None:
    """Production must be given a strong key (32+ bytes, not a known default); elsewhere one
    is made once per instance folder."""
    key = app.config.get("SECRET_KEY")
    if env == "production":
        if not key:
            raise RuntimeError("HEMON_SECRET_KEY must be set in production")
        raw = key.encode() if isinstance(key, str) else bytes(key)
        if len(raw) < MIN_KEY_BYTES or raw.decode(errors="replace").strip().lower() in KNOWN_KEYS:
            raise RuntimeError(f"HEMON_SECRET_KEY is too weak for production: use at least {MIN_KEY_BYTES} random "
                               "bytes, e.g. python -c 'import secrets; print(secrets.token_hex(32))'")
        return
    if key:
        return
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    app.config["SECRET_KEY"] = path.read_text().strip()

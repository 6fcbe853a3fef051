"""Hospitals' returns: template download, upload, findings, versions (issue 3)."""
from flask import Blueprint

bp = Blueprint("returns", __name__, url_prefix="/returns")

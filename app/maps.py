"""The red/yellow/green map of the province (issue 6)."""
from flask import Blueprint

bp = Blueprint("maps", __name__, url_prefix="/map")

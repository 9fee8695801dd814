"""``/healthz``: is this process able to serve? Used by Docker and load balancers."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..http.auth import public
from ..storage import current_storage
from .readiness import DATABASE_PROBLEM
from .readiness import STORAGE_PROBLEM
from .readiness import readiness_of

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> tuple[Response, int]:
    """200, or 503 with what is unavailable: the database, the store, or start-up work that needs them."""
    problems = list(readiness_of(current_app).problems)
    if DATABASE_PROBLEM not in problems:
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            problems.append(DATABASE_PROBLEM)
    if STORAGE_PROBLEM not in problems and not current_storage().is_usable():
        problems.append(STORAGE_PROBLEM)
    if problems:
        return jsonify(status="unavailable", problems=problems), 503
    return jsonify(status="ok"), 200

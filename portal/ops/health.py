"""``/healthz`` and ``/readyz``: is this process able to serve? Used by Docker, load balancers and operators.

``/healthz`` answers the question alone; ``/readyz`` the same question, with
details for a person or a monitor: the scheduled backups' last outcome.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..backup.schedule import schedule_state
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
    problems = _problems()
    if problems:
        return jsonify(status="unavailable", problems=problems), 503
    return jsonify(status="ok"), 200


@bp.get("/readyz")
@public
def readyz() -> tuple[Response, int]:
    """``/healthz``'s answer (200 ready, or 503 with the problems), and ``details``: the scheduled backups.

    A failed backup leaves the portal ready (it serves as well as before): it
    shows in ``details.backup.last``, for a monitor to alert on.
    """
    problems = _problems()
    details = {"backup": _backup_details() if DATABASE_PROBLEM not in problems else None}
    if problems:
        return jsonify(status="unavailable", problems=problems, details=details), 503
    return jsonify(status="ready", problems=[], details=details), 200


def _backup_details() -> dict[str, Any] | None:
    try:
        return schedule_state().as_json()
    except SQLAlchemyError:
        db.session.rollback()
        return None


def _problems() -> list[str]:
    problems = list(readiness_of(current_app).problems)
    if DATABASE_PROBLEM not in problems:
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            problems.append(DATABASE_PROBLEM)
    if STORAGE_PROBLEM not in problems and not current_storage().is_usable():
        problems.append(STORAGE_PROBLEM)
    return problems

"""The OpenAPI document of /api/v2 and the interactive page that renders it (v1's page and vendored Swagger UI)."""

from __future__ import annotations

import json

from flask import Response
from flask import render_template
from flask import url_for

from ...http.auth import public
from ..models import AnyJson
from ..spec import Answer
from ..spec import operation
from . import bp
from .openapi import document


@bp.get("/openapi.json")
@public
@operation("This document", tags=["documentation"], operation_id="getOpenApiDocument",
           answers={200: Answer(AnyJson, "The OpenAPI 3.1 document of /api/v2.")})
def openapi_document() -> Response:
    # Not jsonify: it sorts keys, and the document reads best in the order it is built.
    return Response(json.dumps(document(), indent=1), mimetype="application/json")


@bp.get("/docs")
@public
@operation("The interactive page of this document", tags=["documentation"], operation_id="getDocsPage",
           answers={200: Answer(description="HTML.", content={"text/html": {"schema": {"type": "string"}}})})
def docs_page() -> str:
    return render_template("api/docs.html", title="Portal API v2", version="v2", spec_url=url_for(".openapi_document"))

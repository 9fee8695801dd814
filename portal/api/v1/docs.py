"""The OpenAPI document of /api/v1 and the interactive page that renders it.

The page runs under the portal's own Content-Security-Policy: Swagger UI comes
from ``static/vendor/swagger-ui`` and is started by ``static/js/api-docs.js``,
so no inline script is needed; the styles it sets while rendering go through
the DOM (``element.style``), which the policy does not restrict.
"""

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
           answers={200: Answer(AnyJson, "The OpenAPI 3.1 document of /api/v1.")})
def openapi_document() -> Response:
    # Not jsonify: it sorts keys, and the document reads best in the order it is built.
    return Response(json.dumps(document(), indent=1), mimetype="application/json")


@bp.get("/docs")
@public
@operation("Interactive documentation (this page)", tags=["documentation"], operation_id="getDocumentationPage",
           answers={200: Answer(description="An HTML page that renders this document and can call the API.",
                                content={"text/html": {"schema": {"type": "string"}}})})
def docs_page() -> str:
    return render_template("api/docs.html", title="Portal API v1", version="v1", spec_url=url_for(".openapi_document"))

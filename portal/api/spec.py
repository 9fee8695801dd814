"""The API's declarations: each view names its inputs and answers as pydantic models, and the documents are built from them.

A view declares itself with :func:`operation`, beside its route::

    @bp.get("/videos/<video_id>")
    @viewable
    @operation("One video", tags=["videos"], answers={200: Answer(Video, "The video.", headers=ETAG)},
               errors=lambda: [VideoNotFound()])
    def get_video(video_id): ...

What the view already says is not said again: who may call it comes from its
:mod:`portal.http.auth` mark (``public``, ``viewable``, ``signed_in``,
``requires``), so the security, the 401, the 403 with the permission check's
own words, the CSRF 400 of a change and the database's 503 are added by the
builder; the path parameters come from the route (described once, in
:class:`portal.api.models.PathParameters`). ``errors`` lists example domain
errors (a callable, when they read settings): each lands under the status and
code :data:`portal.http.errors.ERROR_STATUSES` gives its class, with its own
message; there is no error table per route. ``query`` and ``headers`` are
models whose fields are the parameters (a field's ``json_schema_extra`` may
hold ``allowEmptyValue``, ``style`` and ``explode``, or be a callable that
reads settings); ``body`` maps media types to a model or a JSON Schema.

One declaration serves every version that routes the view: v1 renders the
errors as ``{"error": {...}}``, v2 as problem details (:class:`Dialect`).
:func:`document_of` builds a blueprint's document once per app and keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from flask import Flask
from flask import current_app
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic.json_schema import models_json_schema

from ..accounts.models import ApiToken
from ..accounts.models import Role
from ..accounts.models import Scope
from ..accounts.models import User
from ..accounts.permissions import ACTION_ROLES
from ..accounts.permissions import ACTION_SCOPES
from ..accounts.permissions import Action
from ..accounts.permissions import Caller
from ..accounts.permissions import check
from ..errors import CsrfTokenMissing
from ..errors import DatabaseUnavailable
from ..errors import Forbidden
from ..errors import PortalError
from ..errors import RangeNotSatisfiable
from ..errors import StoreUnreachable
from ..errors import TooManyRequests
from ..errors import Unauthorized
from ..errors import UnsupportedTusVersion
from ..http.auth import MALFORMED_AUTHORIZATION
from ..http.auth import SAFE_METHODS
from ..http.auth import UNUSABLE_TOKEN
from ..http.auth import Access
from ..http.errors import BEARER_CHALLENGE
from ..http.errors import status_of
from ..http.problems import PROBLEM_MEDIA_TYPE
from ..http.problems import problem_body
from ..library.models import Video

#: The blueprint whose document is being built: a view routed under two versions may name things per version.
_BUILDING: ContextVar[str] = ContextVar("portal_api_building")
REF_TEMPLATE = "#/components/schemas/{model}"
Schema = dict[str, Any]
Mode = Literal["validation", "serialization"]
Examples = Callable[[], list[PortalError]]
#: The keys of a parameter's ``json_schema_extra`` that belong to the parameter, not its schema.
PARAMETER_KEYS = ("allowEmptyValue", "style", "explode", "description")


@dataclass(frozen=True)
class Answer:
    """One success answer: a model (or raw ``content``), and the headers it carries."""

    model: type[BaseModel] | None = None
    description: str = ""
    headers: Mapping[str, Schema] = field(default_factory=dict)
    content: Mapping[str, Schema] | None = None
    media_type: str = "application/json"


@dataclass(frozen=True)
class Body:
    """A request body: a model or a JSON Schema per media type."""

    content: Mapping[str, type[BaseModel] | Schema]
    required: bool = True
    description: str | None = None


@dataclass(frozen=True)
class Operation:
    summary: str
    tags: list[str]
    description: str | Callable[[], str] | None = None
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    body: Body | None = None
    #: A callable when the answers' headers read settings.
    answers: Mapping[int, Answer] | Callable[[], Mapping[int, Answer]] = field(default_factory=dict)
    errors: Examples | None = None
    touches_bytes: bool = False
    #: The operationId when it is not the endpoint's name in camelCase; a mapping gives it per blueprint.
    operation_id: str | Mapping[str, str] | None = None
    head_id: str | None = None


def operation(summary: str, **declared: Any) -> Callable[[Any], Any]:
    """Declare a view's operation (see the module's docstring); the view itself is left as it is."""

    def declare(view: Any) -> Any:
        view.portal_operation = Operation(summary, **declared)
        return view

    return declare


# --- the two ways of showing an error --------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """How a version shows its errors: v1's ``Error`` envelope, or v2's problem details."""

    media_type: str
    schema: str
    problems: bool
    #: A shared view's tag as this version names it (v1's files are v2's videos).
    tags: Mapping[str, str] = field(default_factory=dict)

    def body(self, error: PortalError, instance: str) -> dict[str, Any]:
        status, code = status_of(type(error))
        if self.problems:
            return problem_body(status, code, error.message, instance) | error.facts()
        return {"error": {"code": code, "message": error.message}}


V1 = Dialect("application/json", "Error", problems=False)
V2 = Dialect(PROBLEM_MEDIA_TYPE, "Problem", problems=True, tags={"files": "videos"})

#: The headers that go with an error of these classes (what :func:`portal.http.errors.handle_portal_error` adds).
ERROR_HEADERS: dict[type[PortalError], dict[str, Schema]] = {
    Unauthorized: {"WWW-Authenticate": {"description": "What to send: an API token (RFC 6750).",
                                        "schema": {"type": "string", "const": BEARER_CHALLENGE}}},
    RangeNotSatisfiable: {"Content-Range": {"description": "`bytes */SIZE`: the size the range must fit in.",
                                            "schema": {"type": "string", "pattern": "^bytes \\*/[0-9]+$"}}},
    TooManyRequests: {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
    UnsupportedTusVersion: {"Tus-Version": {"schema": {"type": "string"}}},
}


def _headers_of(error: PortalError) -> dict[str, Schema]:
    return next((headers for klass, headers in ERROR_HEADERS.items() if isinstance(error, klass)), {})


def _summary(error: PortalError) -> str:
    """A class's own docstring says what the error means; without one, its message does."""
    doc = vars(type(error)).get("__doc__")
    return doc.strip().splitlines()[0] if doc else error.message


# --- who may call: the examples quote the permission check itself ------------------


def example_caller(role: Role, scopes: set[Scope] | None = None) -> Caller:
    """A caller as the examples show them: signed in by the session, or by a token of ``scopes``."""
    user = User(id=1, username="alice", role=role.value)
    token = ApiToken(scopes=" ".join(sorted(scope.value for scope in scopes))) if scopes is not None else None
    return Caller(user, token=token)


def forbidden(caller: Caller, action: Action, video: Video | None = None) -> Forbidden:
    """What :func:`~portal.accounts.permissions.check` says when it refuses."""
    try:
        check(caller, action, video)
    except Forbidden as error:
        return error
    raise AssertionError(f"{caller.username} may {action.value}: no example of a refusal")


def refused(action: Action) -> list[PortalError]:
    """The 403s of ``action``: the token's scope, the role, and (for what is the owner's) someone else's video."""
    scope = ACTION_SCOPES[action]
    # An action that no scope allows (managing users) is refused to a token of every scope.
    examples: list[PortalError] = [forbidden(example_caller(Role.ADMIN, set(Scope) - {scope} if scope else set(Scope)), action)]
    if ACTION_ROLES[action] is not Role.VIEWER:
        examples.append(forbidden(example_caller(Role.VIEWER), action))
    if action in (Action.DELETE, Action.PROCESS, Action.SHARE, Action.EDIT):
        others = Video(owner=User(id=2, username="bob", role=Role.UPLOADER.value))
        examples.append(forbidden(example_caller(Role.UPLOADER), action, others))
    return examples


def caller_errors(view: Any, method: str, touches_bytes: bool) -> list[PortalError]:
    """What the view's auth mark and method imply: 401, 403, the CSRF 400 of a change, the 503s."""
    access = getattr(view, "portal_access", Access.SIGNED_IN)
    if access is Access.PUBLIC:
        return []
    found: list[PortalError] = [Unauthorized(), Unauthorized(MALFORMED_AUTHORIZATION), Unauthorized(UNUSABLE_TOKEN)]
    action = getattr(view, "portal_action", Action.READ)
    if action is not None:
        found += refused(action)
    if method not in SAFE_METHODS:
        found.append(CsrfTokenMissing())
    found.append(DatabaseUnavailable())
    if touches_bytes:
        found.append(StoreUnreachable())
    return found


def security_of(view: Any) -> list[dict[str, list[str]]]:
    access = getattr(view, "portal_access", Access.SIGNED_IN)
    if access is Access.PUBLIC:
        return []
    action = getattr(view, "portal_action", None)
    if action is not None and ACTION_SCOPES[action] is None:
        # No token may do it: the web session's cookie (the document's ``session`` scheme) is the only way.
        return [{"session": []}]
    if access is Access.VIEWING and current_app.config["PUBLIC_VIEWING"]:
        return [{"bearer": []}, {}]
    return [{"bearer": []}]


# --- models to schemas ---------------------------------------------------------------


class _Generator(GenerateJsonSchema):
    """pydantic's JSON Schema without a ``title`` on every field (the field's name says it), nor ``default: null``.

    A field whose default is None is one a client may leave out; "null" is not a value to show or send.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: Any) -> Schema:
        found = super().default_schema(schema)
        if found.get("default", ...) is None:
            del found["default"]
        return found


def _not_null(schema: Schema) -> Schema:
    """A parameter's schema without pydantic's ``| None`` (a parameter left out is how to send nothing)."""
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        return {**options[0], **rest}
    return schema


class _Components:
    """The component schemas of one document, each model's schema made once."""

    def __init__(self) -> None:
        self.models: dict[tuple[type[BaseModel], Mode], None] = {}

    def ref(self, model: type[BaseModel], mode: Mode = "serialization") -> Schema:
        self.models[(model, mode)] = None
        return {"$ref": REF_TEMPLATE.format(model=model.__name__)}

    def schemas(self) -> dict[str, Schema]:
        _, top = models_json_schema(
            list(self.models), ref_template=REF_TEMPLATE, schema_generator=_Generator
        )
        return dict(sorted(top.get("$defs", {}).items()))


def parameters_of(model: type[BaseModel], where: str) -> list[Schema]:
    """Each field of ``model`` as an OpenAPI parameter ``in`` query, header or path."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=_Generator)
    required = set(schema.get("required", []))
    found = []
    for name, prop in schema["properties"].items():
        prop = _not_null(prop)
        parameter: Schema = {"name": name, "in": where}
        if name in required or where == "path":
            parameter["required"] = True
        for key in PARAMETER_KEYS:
            if key in prop:
                parameter[key] = prop.pop(key)
        parameter["schema"] = prop
        found.append(parameter)
    return found


def _example(model: type[BaseModel] | None) -> Any:
    """The first of a model's ``examples`` (``model_config``'s ``json_schema_extra``), shown in the media type.

    A model whose example reads settings has a ``document_example`` function instead.
    """
    if hasattr(model, "document_example"):
        return model.document_example()  # type: ignore[union-attr]
    extra: Any = model.model_config.get("json_schema_extra") if model is not None else None
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return examples[0] if examples else None


# --- the builder ----------------------------------------------------------------------

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def _camel(endpoint: str) -> str:
    first, *rest = endpoint.split("_")
    return first + "".join(word.capitalize() for word in rest)


@dataclass
class Builder:
    blueprint: str
    dialect: Dialect
    components: _Components = field(default_factory=_Components)

    def content(self, media: Mapping[str, type[BaseModel] | Schema], mode: Mode) -> dict[str, Schema]:
        return {
            media_type: {"schema": self.components.ref(model, mode) if isinstance(model, type) else model}
            for media_type, model in media.items()
        }

    def answer(self, status: int, answer: Answer) -> Schema:
        response: Schema = {"description": answer.description or f"{status}."}
        if answer.headers:
            response["headers"] = dict(answer.headers)
        if answer.model is not None:
            media: Schema = {"schema": self.components.ref(answer.model)}
            example = _example(answer.model)
            if example is not None:
                media["example"] = example
            response["content"] = {answer.media_type: media}
        elif answer.content is not None:
            response["content"] = dict(answer.content)
        return response

    def errors(self, examples: list[PortalError], instance: str) -> dict[str, Schema]:
        """The examples grouped by the status of their class, one response per status."""
        by_status: dict[int, list[PortalError]] = {}
        for error in examples:
            by_status.setdefault(status_of(type(error))[0], []).append(error)
        responses: dict[str, Schema] = {}
        for status, errors in sorted(by_status.items()):
            bodies = [self.dialect.body(error, instance) for error in errors]
            media: Schema = {"schema": {"$ref": REF_TEMPLATE.format(model=self.dialect.schema)}}
            if len(bodies) == 1:
                media["example"] = bodies[0]
            else:
                counts: dict[str, int] = {}
                media["examples"] = {}
                for body in bodies:
                    code = body["code"] if self.dialect.problems else body["error"]["code"]
                    counts[code] = counts.get(code, 0) + 1
                    name = code if counts[code] == 1 else f"{code}_{counts[code]}"
                    media["examples"][name] = {"summary": name.replace("_", " ").capitalize(), "value": body}
            headers: dict[str, Schema] = {}
            for error in errors:
                headers |= _headers_of(error)
            response: Schema = {"description": "; ".join(dict.fromkeys(map(_summary, errors)))}
            if headers:
                response["headers"] = headers
            response["content"] = {self.dialect.media_type: media}
            responses[str(status)] = response
        return responses

    def operation_id(self, endpoint: str, declared: Operation, head_of_get: bool) -> str:
        if head_of_get:
            return declared.head_id or "head" + "".join(word.capitalize() for word in endpoint.split("_")[1:])
        named = declared.operation_id
        if isinstance(named, Mapping):
            named = named.get(self.blueprint)
        return named or _camel(endpoint)

    def operation(self, view: Any, endpoint: str, method: str, path: str, declared: Operation, operation_id: str) -> Schema:
        head = method == "HEAD"
        tags = [self.dialect.tags.get(tag, tag) for tag in declared.tags]
        found: Schema = {"operationId": operation_id, "tags": tags, "summary": declared.summary}
        description = declared.description() if callable(declared.description) else declared.description
        if description:
            found["description"] = description
        found["security"] = security_of(view)
        parameters: list[Schema] = []
        if declared.query is not None:
            parameters += parameters_of(declared.query, "query")
        if declared.headers is not None:
            parameters += parameters_of(declared.headers, "header")
        if parameters:
            found["parameters"] = parameters
        if declared.body is not None:
            body: Schema = {"required": declared.body.required, "content": self.content(declared.body.content, "validation")}
            if declared.body.description:
                body["description"] = declared.body.description
            found["requestBody"] = body
        answers = declared.answers() if callable(declared.answers) else declared.answers
        responses = {str(status): self.answer(status, answer) for status, answer in answers.items()}
        examples = caller_errors(view, method, declared.touches_bytes) + (declared.errors() if declared.errors else [])
        responses |= self.errors(examples, _instance(path))
        if self.dialect.problems:
            responses["default"] = {
                "description": "Any other error, as problem details.",
                "content": {self.dialect.media_type: {"schema": {"$ref": REF_TEMPLATE.format(model=self.dialect.schema)}}},
            }
        if head:
            responses = {status: {k: v for k, v in response.items() if k != "content"} for status, response in responses.items()}
        found["responses"] = responses
        return found

    def paths(self, app: Flask) -> dict[str, Schema]:
        from .models import PathParameters

        path_parameters = {parameter["name"]: parameter for parameter in parameters_of(PathParameters, "path")}
        paths: dict[str, Schema] = {}
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith(self.blueprint + "."):
                continue
            view = app.view_functions[rule.endpoint]
            declared = getattr(view, "portal_operation", None)
            if declared is None:
                continue
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            item = paths.setdefault(path, {})
            names = re.findall(r"{([^}]+)}", path)
            if names:
                item["parameters"] = [path_parameters[name] for name in names]
            implicit = {"OPTIONS"} if getattr(rule, "provide_automatic_options", False) else set()
            methods = (rule.methods or set()) - implicit
            if "GET" in methods and declared.head_id is None:
                methods -= {"HEAD"}
            endpoint = rule.endpoint.split(".", 1)[1]
            for method in sorted(methods, key=lambda m: HTTP_METHODS.index(m.lower())):
                operation_id = self.operation_id(endpoint, declared, method == "HEAD" and "GET" in methods)
                item[method.lower()] = self.operation(view, endpoint, method, path, declared, operation_id)
        return paths


def _instance(path: str) -> str:
    """The path of an example request: each parameter with its example value."""
    from .models import PATH_EXAMPLES

    return re.sub(r"{([^}]+)}", lambda match: str(PATH_EXAMPLES.get(match.group(1), match.group(1))), path)


def building() -> str:
    """The blueprint whose document is being built (for declarations, such as tus's, that differ per version)."""
    return _BUILDING.get()


def build(blueprint: str, dialect: Dialect, head: Schema, extra_schemas: Mapping[str, type[BaseModel]]) -> Schema:
    """The OpenAPI 3.1 document of ``blueprint``: ``head`` (info, tags, security schemes) and the declared views."""
    builder = Builder(blueprint, dialect)
    for model in extra_schemas.values():
        builder.components.ref(model)
    token = _BUILDING.set(blueprint)
    try:
        paths = builder.paths(current_app._get_current_object())  # type: ignore[attr-defined]
    finally:
        _BUILDING.reset(token)
    components = {**head.get("components", {}), "schemas": builder.components.schemas()}
    return {**head, "paths": paths, "components": components}


def document_of(blueprint: str, make: Callable[[], Schema]) -> Schema:
    """``make()``'s document, built once per app: it reads the app's settings, which do not change."""
    cache = current_app.extensions.setdefault("portal.openapi", {})
    if blueprint not in cache:
        cache[blueprint] = make()
    return cache[blueprint]

"""Every web form, posted with generated values: whatever a field holds, the answer is a page or a redirect, never a 5xx.

Each form is posted as a browser would (its CSRF token, signed in as someone
who may use it), with every field given a value drawn from what breaks
parsers: very long strings, huge and negative numbers, floats, control
characters and NUL, bytes that are not UTF-8 (percent-encoded, as a form body
carries them), several values for one field, the field left out, and fields
the form does not have. The answer must be a redirect (303, with a
``Location``), or an HTML page; a refusal (4xx) must say why on the page (the
form's error, or the error page's message), and must not be the "form
expired" page, which would mean the values never reached the form.

A bounded, derandomized number of examples per form keeps the file to a few
seconds per form; it runs with the API fuzzers (marker ``fuzz``).
"""

from __future__ import annotations

import io
from urllib.parse import quote
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import delete

from portal.accounts import service as accounts
from portal.accounts.models import ApiToken
from portal.accounts.models import LoginSession
from portal.accounts.models import User
from portal.extensions import db
from tests.helpers import add_user
from tests.helpers import signed_in_client
from tests.web.conftest import add_video
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = 25
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Characters a person cannot type in a field but a request can carry: controls, NUL, DEL, separators.
NASTY_CHARACTERS = "\x00\x01\x07\x08\t\n\r\x0b\x0c\x1b\x1f\x7f\x85\u2028\u2029\ufeff\u202e"

numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**11, 3_000_000, 99_999_999_999, -(2**63)]),
).map(str)
float_like = st.sampled_from(["6.0", "1e999", "-1e999", "nan", "inf", "-0", "1_000", "0x10", "٣", "１２", " 7 ", "+5", "1e3"])
texts = st.text(
    alphabet=st.one_of(st.sampled_from(NASTY_CHARACTERS), st.characters(exclude_categories=["Cs"])), max_size=40
)
long_texts = st.builds(lambda unit, times: unit * times, st.sampled_from(["a", "é", "漢", "\x00", " ,", "9"]), st.integers(1_000, 120_000))
#: Bytes of a form value as sent percent-encoded; many are not UTF-8 (``%ff``, a cut multibyte character).
raw_bytes = st.one_of(st.binary(max_size=30), st.sampled_from([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]))
#: One field's value, or None for "left out"; a list is the field sent several times.
value = st.one_of(texts, long_texts, numbers, float_like, raw_bytes, st.none())
field_value = st.one_of(value, st.lists(st.one_of(texts, numbers, raw_bytes), min_size=2, max_size=4))
extra_fields = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_[]\x00.", min_size=1, max_size=12).filter(lambda name: name != "csrf_token"),
    st.one_of(texts, numbers, raw_bytes),
    max_size=3,
)


def encoded(fields: dict[str, object]) -> bytes:
    """An ``application/x-www-form-urlencoded`` body, bytes values percent-encoded as they are (UTF-8 or not)."""
    pairs = []
    for name, content in fields.items():
        for one in content if isinstance(content, list) else [content]:
            if one is None:
                continue
            raw = one if isinstance(one, bytes) else str(one).encode("utf-8")
            pairs.append(f"{quote(name)}={quote_from_bytes(raw)}")
    return "&".join(pairs).encode("ascii")


def fill(names: list[str]):
    """Values for the named fields of a form, and a few fields it does not have."""
    return st.tuples(st.fixed_dictionaries({name: field_value for name in names}), extra_fields)


def post_form(client, path: str, token: str, values: dict[str, object], extra: dict[str, object]):
    body = encoded({"csrf_token": token, **values, **extra})
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded")


def assert_a_page_or_a_redirect(response, label: str) -> None:
    status = response.status_code
    text = response.get_data(as_text=True)
    where = f"{label}: {status} {text[:400]!r}"
    assert status < 500, where
    if 300 <= status < 400:
        assert response.headers.get("Location"), where
        return
    assert response.mimetype == "text/html", where
    assert 'data-code="form_expired"' not in text, f"the CSRF token was refused, the values never reached the form: {where}"
    if status >= 400:
        assert 'role="alert"' in text or "data-error-message" in text, f"a refusal that does not say why: {where}"


@pytest.fixture
def admin(app):
    return signed_in_client(app, "admin", "admin")


@pytest.fixture
def video_id(admin, video_bytes) -> str:
    return add_video(admin, video_bytes, "holiday.mp4")["id"]


def path_parts():
    """A path segment: the real one most often, or something else (unknown, long, control characters)."""
    return st.one_of(st.just(None), st.text(min_size=1, max_size=20), long_texts.map(lambda text: text[:3000]))


def segment(real: str, generated: str | None) -> str:
    return real if generated is None else quote(generated, safe="")


# --- signing in and the first admin -----------------------------------------------


def test_sign_in_form(app):
    add_user(app, "alice", "viewer")
    client = app.test_client()
    token = csrf_token(client, "/login")

    @FUZZ_SETTINGS
    @given(fill(["username", "password", "next"]))
    def check(filled):
        values, extra = filled
        assert_a_page_or_a_redirect(post_form(client, "/login", token, values, extra), f"/login {values!r}")

    check()


def test_setup_form(app):
    """Each example on a portal without accounts: one made by an example that succeeded is removed again."""
    code = "the-setup-code"

    @FUZZ_SETTINGS
    @given(fill(["username", "password", "confirm"]))
    def check(filled):
        values, extra = filled
        app.extensions[accounts.SETUP_CODE] = code
        client = app.test_client()
        token = csrf_token(client, f"/setup?code={code}")
        response = post_form(client, f"/setup?code={code}", token, {"code": code, **values}, extra)
        assert_a_page_or_a_redirect(response, f"/setup {values!r}")
        if response.status_code == 303:
            with app.app_context():
                for table in (LoginSession, ApiToken, User):
                    db.session.execute(delete(table))
                db.session.commit()

    check()


def test_sign_out_form(app):
    client = signed_in_client(app, "alice", "viewer")
    token = csrf_token(client, "/account")

    @FUZZ_SETTINGS
    @given(extra_fields)
    def check(extra):
        assert_a_page_or_a_redirect(post_form(client, "/logout", token, {}, extra), "/logout")

    check()


# --- videos -------------------------------------------------------------------------


def test_upload_form(admin):
    token = csrf_token(admin, "/upload")
    files = st.lists(
        st.tuples(st.binary(max_size=64), st.one_of(texts, long_texts.map(lambda text: text[:5000]), st.just(""))),
        max_size=3,
    )

    @FUZZ_SETTINGS
    @given(files, extra_fields)
    def check(chosen, extra):
        data: dict[str, object] = {"csrf_token": token, **{name: content for name, content in extra.items() if not isinstance(content, bytes)}}
        data["file"] = [(io.BytesIO(content), name) for content, name in chosen]
        response = admin.post("/upload", data=data, content_type="multipart/form-data")
        assert_a_page_or_a_redirect(response, f"/upload {[name for _, name in chosen]!r}")

    check()


def test_details_form(admin, video_id):
    token = csrf_token(admin, f"/videos/{video_id}")

    @FUZZ_SETTINGS
    @given(fill(["title", "description", "tags", "version"]), path_parts())
    def check(filled, other_id):
        values, extra = filled
        path = f"/videos/{segment(video_id, other_id)}/details"
        assert_a_page_or_a_redirect(post_form(admin, path, token, values, extra), f"{path} {values!r}")

    check()


def test_caption_forms(admin, video_id):
    token = csrf_token(admin, f"/videos/{video_id}")
    srt = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n"
    caption_file = st.one_of(st.just(srt), st.binary(max_size=80), st.just(b"WEBVTT\n\n\x00\xff"))

    @FUZZ_SETTINGS
    @given(caption_file, st.one_of(texts, long_texts, st.just("en")), st.one_of(texts, long_texts), extra_fields)
    def add(content, language, label, extra):
        data = {"csrf_token": token, "file": (io.BytesIO(content), "c.srt"), "language": language, "label": label}
        data.update({name: item for name, item in extra.items() if not isinstance(item, bytes)})
        response = admin.post(f"/videos/{video_id}/captions", data=data, content_type="multipart/form-data")
        assert_a_page_or_a_redirect(response, f"add caption {language!r} {label!r}")

    add()
    admin.post(f"/videos/{video_id}/captions", data={"csrf_token": token, "file": (io.BytesIO(srt), "c.srt"), "language": "en",
                                                      "label": "English"}, content_type="multipart/form-data")

    @FUZZ_SETTINGS
    @given(caption_file, fill(["version"]), st.one_of(st.just("en"), texts.filter(bool)))
    def replace(content, filled, language):
        values, extra = filled
        path = f"/videos/{video_id}/captions/{quote(language, safe='')}"
        data = {"csrf_token": token, "file": (io.BytesIO(content), "c.srt")}
        data.update({name: item for name, item in {**values, **extra}.items() if isinstance(item, str)})
        response = admin.post(path, data=data, content_type="multipart/form-data")
        assert_a_page_or_a_redirect(response, f"{path} {values!r}")
        response = post_form(admin, f"{path}/remove", token, values, extra)
        assert_a_page_or_a_redirect(response, f"{path}/remove {values!r}")

    replace()


def test_share_forms(admin, video_id):
    token = csrf_token(admin, f"/videos/{video_id}")

    @FUZZ_SETTINGS
    @given(fill(["days"]), st.one_of(st.just(None), numbers))
    def check(filled, share_id):
        values, extra = filled
        response = post_form(admin, f"/videos/{video_id}/shares", token, values, extra)
        assert_a_page_or_a_redirect(response, f"share {values!r}")
        path = f"/shares/{quote(share_id or '1', safe='')}/revoke"
        assert_a_page_or_a_redirect(post_form(admin, path, token, {}, extra), path)

    check()


@pytest.mark.parametrize("action", ["verify", "process", "delete"])
def test_video_action_forms(admin, video_id, action):
    token = csrf_token(admin, f"/videos/{video_id}")

    @FUZZ_SETTINGS
    @given(extra_fields, path_parts())
    def check(extra, other_id):
        path = f"/videos/{segment(video_id, other_id)}/{action}"
        assert_a_page_or_a_redirect(post_form(admin, path, token, {}, extra), path)

    check()


def test_trash_forms(admin, video_id):
    token = csrf_token(admin, f"/videos/{video_id}")
    admin.post(f"/videos/{video_id}/delete", data={"csrf_token": token})

    @FUZZ_SETTINGS
    @given(extra_fields, path_parts(), st.sampled_from(["restore", "purge"]))
    def check(extra, other_id, action):
        path = f"/trash/{segment(video_id, other_id)}/{action}"
        assert_a_page_or_a_redirect(post_form(admin, path, token, {}, extra), path)
        assert_a_page_or_a_redirect(post_form(admin, "/trash/empty", token, {}, extra), "/trash/empty")

    check()


# --- one's own account ---------------------------------------------------------------


def test_password_form(app):
    client = signed_in_client(app, "alice", "uploader")
    token = csrf_token(client, "/account")

    @FUZZ_SETTINGS
    @given(fill(["current", "new", "confirm"]))
    def check(filled):
        values, extra = filled
        assert_a_page_or_a_redirect(post_form(client, "/account/password", token, values, extra), f"password {values!r}")

    check()


def test_token_forms(app):
    client = signed_in_client(app, "alice", "uploader")
    token = csrf_token(client, "/account")
    days = st.one_of(numbers, float_like, field_value)

    @FUZZ_SETTINGS
    @given(st.fixed_dictionaries({"label": field_value, "scopes": field_value, "days": days}), extra_fields, numbers)
    def check(values, extra, token_id):
        response = post_form(client, "/account/tokens", token, values, extra)
        assert_a_page_or_a_redirect(response, f"tokens {values!r}")
        path = f"/account/tokens/{quote(token_id, safe='')}/revoke"
        assert_a_page_or_a_redirect(post_form(client, path, token, {}, extra), path)

    check()


# --- the admins' page of users ---------------------------------------------------------


def test_add_user_form(admin):
    token = csrf_token(admin, "/admin/users")

    @FUZZ_SETTINGS
    @given(fill(["username", "password", "role"]))
    def check(filled):
        values, extra = filled
        assert_a_page_or_a_redirect(post_form(admin, "/admin/users", token, values, extra), f"add user {values!r}")

    check()


def test_user_forms(app, admin):
    add_user(app, "bob", "uploader")
    token = csrf_token(admin, "/admin/users")
    forms = st.sampled_from([("role", ["role"]), ("quota", ["quota"]), ("password", ["password"]), ("disable", []), ("enable", [])])

    @FUZZ_SETTINGS
    @given(forms.flatmap(lambda form: st.tuples(st.just(form[0]), fill(form[1]))), st.one_of(st.just(None), texts.filter(bool)))
    def check(chosen, name):
        action, (values, extra) = chosen
        path = f"/admin/users/{segment('bob', name)}/{action}"
        assert_a_page_or_a_redirect(post_form(admin, path, token, values, extra), f"{path} {values!r}")

    check()


def test_admin_token_revoke_form(admin):
    token = csrf_token(admin, "/admin/users")

    @FUZZ_SETTINGS
    @given(numbers, extra_fields)
    def check(token_id, extra):
        path = f"/admin/tokens/{quote(token_id, safe='')}/revoke"
        assert_a_page_or_a_redirect(post_form(admin, path, token, {}, extra), path)

    check()

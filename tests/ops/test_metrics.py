"""``GET /metrics`` in one process: who may read it, and what it counts (names, labels, values)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal import create_app
from portal.library import integrity
from portal.storage import StorageFull
from portal.storage import storage_of
from tests.helpers import add_user
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.helpers import upload
from tests.uploads.tus import TUS
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation

CONTENT_ROUTE = "/api/v1/files/<video_id>/content"


def scrape(client, **headers) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, by name and labels."""
    response = client.get("/metrics", headers=headers, buffered=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def uploaded(client, data: bytes) -> dict:
    """Upload ``data``; the answer's JSON, once the response is closed (and so counted)."""
    response = upload(client, data)
    body = response.get_json()
    response.close()
    assert response.status_code == 201, body
    return body


def admin_scrape(app) -> dict:
    return scrape(app.test_client(), Authorization=f"Bearer {token_of(app, 'metrics-admin', 'admin', ['metrics'])}")


def token_of(app, username: str, role: str, scopes: list[str]) -> str:
    from portal.accounts import service

    with app.app_context():
        if service.find_user(username) is None:
            add_user(app, username, role)
        return service.create_token(username, scopes)[1]


# --- who may read it -----------------------------------------------------------------


def test_an_admin_reads_metrics_by_session_or_by_any_token(app, client):
    assert client.without_token().get("/metrics").status_code == 200
    for scopes in (["read"], ["metrics"], ["read", "upload", "delete", "metrics"]):
        token = token_of(app, "tester", "admin", scopes)
        assert app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_metrics_token_reads_metrics_and_nothing_else(app):
    token = token_of(app, "prometheus", "admin", ["metrics"])
    anonymous = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/metrics", headers=headers).status_code == 200
    listing = anonymous.get("/api/v1/files", headers=headers)
    assert listing.status_code == 403
    assert "'read' scope" in listing.get_json()["error"]["message"]


@pytest.mark.parametrize("role", ["viewer", "uploader"])
def test_other_users_are_refused_with_403(app, role):
    user = signed_in_client(app, username=f"a-{role}", role=role)
    assert user.get("/metrics").status_code == 403  # by the token
    assert user.without_token().get("/metrics").status_code == 403  # by the session


def test_no_credentials_or_a_wrong_token_get_401(app):
    anonymous = app.test_client()
    response = anonymous.get("/metrics")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "metrics" in response.get_data(as_text=True)
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer ptl_nonsense"}).status_code == 401
    assert anonymous.get("/metrics", headers={"Authorization": "Basic YTpi"}).status_code == 401


def test_the_metrics_token_setting_works_before_any_account_exists(tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path), "SECRET_KEY": "test", "METRICS_TOKEN": "scrape-me-please"})
    anonymous = app.test_client()
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"}).status_code == 200
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer scrape-me-pleasE"}).status_code == 401
    assert anonymous.get("/metrics").status_code == 401
    # It opens /metrics only.
    assert anonymous.get("/api/v1/files", headers={"Authorization": "Bearer scrape-me-please"}).status_code == 401


def test_tokens_of_the_metrics_scope_are_for_admins_only(app):
    from portal import errors
    from portal.accounts import service

    add_user(app, "up", "uploader")
    with app.app_context(), pytest.raises(errors.ScopeAboveRole):
        service.create_token("up", ["metrics"])


# --- what it counts ------------------------------------------------------------------


def test_requests_are_counted_by_route_template_method_and_status(app, client, video_bytes):
    video_id = uploaded(client, video_bytes)["id"]
    before = admin_scrape(app)
    # buffered: the test client closes the response (so it is counted) before it returns it.
    for _ in range(3):
        assert client.get(f"/api/v1/files/{video_id}", buffered=True).status_code == 200
    assert client.get("/api/v1/files?q=secret", buffered=True).status_code == 200
    assert client.get("/no/such/page/at/all", buffered=True).status_code == 404
    assert client.get("/another-made-up-path", buffered=True).status_code == 404
    download = client.get(f"/api/v1/files/{video_id}/content", buffered=True)
    assert download.get_data() == video_bytes
    after = admin_scrape(app)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("portal_http_requests_total", route="/api/v1/files/<video_id>", method="GET", status="200") == 3
    assert delta("portal_http_requests_total", route="/api/v1/files", method="GET", status="200") == 1
    assert delta("portal_http_requests_total", route="unmatched", method="GET", status="404") == 2
    assert delta("portal_http_request_duration_seconds_count", route="/api/v1/files/<video_id>", method="GET") == 3
    assert delta("portal_http_request_duration_seconds_bucket", route="/api/v1/files/<video_id>", method="GET", le="+Inf") == 3
    assert delta("portal_http_sent_bytes_total", route=CONTENT_ROUTE) == len(video_bytes)
    assert value(after, "portal_http_received_bytes_total", route="/api/v1/files") >= len(video_bytes)
    # No raw path, and no query, ever becomes a label.
    labels = {label for name, labelset in after for label in labelset}
    assert not any("secret" in str(label) or "no/such" in str(label) for label in labels)
    assert ("route", "/api/v1/files/<video_id>") in labels


def test_the_names_and_labels_of_every_metric(app, client, video_bytes):
    uploaded = upload(client, video_bytes)
    assert uploaded.status_code == 201
    # An exchange is counted when its response is closed: left to the garbage collector, the
    # scrape below could come first (it did, in one run's order).
    uploaded.close()
    families = {family.name: family for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))}
    expected = {
        "portal_http_requests": ("counter", {"route", "method", "status"}),
        "portal_http_request_duration_seconds": ("histogram", {"route", "method", "le"}),
        "portal_http_sent_bytes": ("counter", {"route"}),
        "portal_http_received_bytes": ("counter", {"route"}),
        "portal_uploads": ("counter", {"outcome"}),
        "portal_library_videos": ("gauge", {"place"}),
        "portal_library_bytes": ("gauge", {"place"}),
        "portal_jobs_pending": ("gauge", set()),
        "portal_jobs_scheduled": ("gauge", set()),
    }
    for name, (kind, labels) in expected.items():
        assert name in families, name
        assert families[name].type == kind, name
        assert {label for sample in families[name].samples for label in sample.labels} == labels, name


def test_uploads_are_counted_by_outcome(app, limited_app, client, video_bytes, monkeypatch):
    before = admin_scrape(app)
    assert upload(client, video_bytes).status_code == 201
    assert client.post("/api/v1/files?filename=raw.mp4", data=video_bytes).status_code == 201
    assert upload(client, b"just some text, not a video").status_code == 415
    assert upload(client, video_bytes, sha256="0" * 64).status_code == 422
    assert upload(client, b"").status_code == 400  # an empty file: refused, so aborted
    storage = storage_of(app)
    real_create = storage.create

    def full_disk(key):
        target = real_create(key)
        monkeypatch.setattr(target, "write", lambda data: (_ for _ in ()).throw(StorageFull("no space left")))
        return target

    monkeypatch.setattr(storage, "create", full_disk)
    assert upload(client, video_bytes).status_code == 507
    monkeypatch.undo()
    limited = signed_in_client(limited_app, username="limited")
    too_large = limited.post("/api/v1/files?filename=big.mp4", data=b"x" * (limited_app.config["MAX_CONTENT_LENGTH"] + 1))
    assert too_large.status_code == 413
    after = admin_scrape(app)
    counted = {
        outcome: value(after, "portal_uploads_total", outcome=outcome) - value(before, "portal_uploads_total", outcome=outcome)
        for outcome in ("stored", "too_large", "not_a_video", "checksum_mismatch", "disk_full", "aborted")
    }
    assert counted == {"stored": 2, "too_large": 1, "not_a_video": 1, "checksum_mismatch": 1, "disk_full": 1, "aborted": 1}


def test_a_web_form_of_several_files_counts_each(app, client, video_bytes):
    from tests.web.conftest import csrf_token

    before = admin_scrape(app)
    files = [(io.BytesIO(video_bytes), "a.mp4"), (io.BytesIO(b"not a video"), "b.mp4"), (io.BytesIO(video_bytes), "c.mp4")]
    token = csrf_token(client.without_token(), "/upload")
    response = client.post("/upload", data={"csrf_token": token, "file": files}, content_type="multipart/form-data")
    assert response.status_code == 303
    after = admin_scrape(app)
    assert value(after, "portal_uploads_total", outcome="stored") - value(before, "portal_uploads_total", outcome="stored") == 2
    not_a_video = value(after, "portal_uploads_total", outcome="not_a_video") - value(before, "portal_uploads_total", outcome="not_a_video")
    assert not_a_video == 1


def test_checksum_failures_found_by_a_download_and_by_verify(app, client, data_dir, video_bytes, monkeypatch):
    monkeypatch.setattr(integrity, "CHANGE_TIME_SLACK", timedelta(0))
    first = upload(client, video_bytes).get_json()
    second = upload(client, video_bytes + b"-").get_json()
    for body in (first, second):
        [path] = [p for p in stored_files(data_dir) if p.name == body["id"]]
        damaged = bytearray(path.read_bytes())
        damaged[-1] ^= 0xFF
        path.write_bytes(bytes(damaged))
    before = admin_scrape(app)
    with pytest.raises(integrity.CorruptionDetected):
        client.get(first["content_url"], headers={"Range": "bytes=0-"}).get_data()
    assert client.post(f"/api/v1/files/{second['id']}/verify").get_json()["status"] == "corrupt"
    after = admin_scrape(app)
    for found_by in ("download", "verify"):
        name = "portal_checksum_failures_total"
        assert value(after, name, found_by=found_by) - value(before, name, found_by=found_by) == 1, found_by


def test_the_library_size_is_asked_at_each_scrape(app, client, video_bytes):
    kept = upload(client, video_bytes).get_json()
    trashed = upload(client, video_bytes + b"1234").get_json()
    assert client.delete(f"/api/v1/files/{trashed['id']}").status_code == 204
    found = admin_scrape(app)
    assert value(found, "portal_library_videos", place="library") == 1
    assert value(found, "portal_library_bytes", place="library") == kept["size"]
    assert value(found, "portal_library_videos", place="trash") == 1
    assert value(found, "portal_library_bytes", place="trash") == trashed["size"]
    assert hashlib.sha256(video_bytes).hexdigest() == kept["sha256"]


def test_job_failures_and_the_queue_depth_are_counted(app, client, video_bytes):
    from portal.jobs.tasks import run_job
    from portal.media import processing
    from portal.storage import StorageUnavailable

    class Retrying:
        id = "a-task-id"
        retries = 3

    def broken(video_id):
        raise RuntimeError("a bug")

    def unreachable(video_id):
        raise StorageUnavailable("the store is down")

    video_id = uploaded(client, video_bytes)["id"]  # queues its probing job (not run: no consumer here)
    before = admin_scrape(app)
    with app.app_context():
        run_job("probe", broken, video_id, None)  # failed for good
        with pytest.raises(StorageUnavailable):
            run_job("probe", unreachable, video_id, Retrying())  # tried again later
        run_job("probe", processing.probe_video, video_id, None)  # not a readable video: failed for good
    after = admin_scrape(app)
    name = "portal_job_failures_total"
    assert value(after, name, outcome="failed") - value(before, name, outcome="failed") == 2
    assert value(after, name, outcome="retried") - value(before, name, outcome="retried") == 1
    assert value(after, "portal_jobs_pending") >= 1


def test_an_admin_may_make_a_metrics_token_on_the_account_page_and_with_the_cli(app, client):
    page = client.without_token().get("/account").get_data(as_text=True)
    assert 'value="metrics"' in page
    viewer_page = signed_in_client(app, username="watcher", role="viewer").without_token().get("/account").get_data(as_text=True)
    assert 'value="metrics"' not in viewer_page
    made = app.test_cli_runner().invoke(args=["tokens", "create", "tester", "--scope", "metrics", "--label", "prometheus"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_counts_are_served_while_the_database_is_down(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from portal.extensions import db

    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path), "SECRET_KEY": "test", "METRICS_TOKEN": "static"})
    anonymous = app.test_client()
    assert anonymous.get("/healthz", buffered=True).status_code == 200

    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("the database is down"))

    monkeypatch.setattr(db.session, "execute", down)
    found = scrape(anonymous, Authorization="Bearer static")
    assert value(found, "portal_http_requests_total", route="/healthz", method="GET", status="200") >= 1
    assert not any(name.startswith("portal_library_") for name, _labels in found)


def test_resumable_uploads_are_counted_by_outcome_like_the_others(app, client, video_bytes):
    def start(data: bytes, **metadata: str) -> str:
        response = client.post("/api/v1/uploads", headers=creation(len(data), filename="clip.mp4", **metadata))
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.headers["Location"]

    before = admin_scrape(app)
    good = start(video_bytes)
    assert client.patch(good, data=video_bytes, headers=chunk_headers(0)).status_code == 204
    wrong = start(video_bytes, sha256="0" * 64)
    assert client.patch(wrong, data=video_bytes, headers=chunk_headers(0)).status_code == 422
    noise = b"not a video at all" * 100
    assert client.patch(start(noise), data=noise, headers=chunk_headers(0)).status_code == 415
    cancelled = start(video_bytes)
    assert client.patch(cancelled, data=video_bytes[:100], headers=chunk_headers(0)).status_code == 204
    assert client.delete(cancelled, headers=TUS).status_code == 204
    after = admin_scrape(app)
    counted = {
        outcome: value(after, "portal_uploads_total", outcome=outcome) - value(before, "portal_uploads_total", outcome=outcome)
        for outcome in ("stored", "checksum_mismatch", "not_a_video", "aborted")
    }
    assert counted == {"stored": 1, "checksum_mismatch": 1, "not_a_video": 1, "aborted": 1}


def test_a_scrape_leaves_out_the_file_a_process_is_still_making(tmp_path):
    """Between creating its file and sizing it, a process's file is empty: a scrape then answered 500."""
    import struct

    from prometheus_client import multiprocess
    from prometheus_client.mmap_dict import MmapedDict
    from prometheus_client.mmap_dict import mmap_key

    from portal.ops.metrics import StartedFilesCollector

    counts = MmapedDict(str(tmp_path / "counter_101.db"))
    counts.write_value(mmap_key("portal_uploads_total", "portal_uploads_total", ["outcome"], ["stored"], "Uploads."), 3.0, 0.0)
    counts.close()
    (tmp_path / "counter_102.db").touch()  # the consumer's, an instant after it was created

    with pytest.raises(struct.error):
        list(multiprocess.MultiProcessCollector(None, path=str(tmp_path)).collect())
    [family] = StartedFilesCollector(None, path=str(tmp_path)).collect()
    assert [(sample.name, sample.labels, sample.value) for sample in family.samples] == [
        ("portal_uploads_total", {"outcome": "stored"}, 3.0)
    ]

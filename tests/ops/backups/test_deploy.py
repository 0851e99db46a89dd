"""deploy/ starts a worker for every queue the routes use, one beat, and Prometheus on /metrics."""
from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_compose_has_a_worker_per_queue_one_beat_and_prometheus():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    served = {cmd[cmd.index("-Q") + 1] for cmd in (s.get("command") or [] for s in services.values())
              if isinstance(cmd, list) and "-Q" in cmd}
    assert served == set(settings.WORKER_QUEUES)
    assert [name for name, s in services.items() if "beat" in (s.get("command") or [])] == ["beat"]
    assert {"postgres", "redis", "web", "prometheus"} <= set(services)
    every = [s for s in services.values() if s.get("image") == "neolight:latest"]
    assert every and all(s["environment"]["REDIS_URL"] and s["environment"]["LEARNING_STUDY_STORAGE"] for s in every)


def test_prometheus_scrapes_metrics_with_the_token():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    job = config["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics" and job["authorization"]["type"] == "Bearer"


def test_systemd_worker_template_takes_its_queue_from_the_instance():
    unit = (DEPLOY / "systemd" / "neolight-worker@.service").read_text()
    assert "worker -Q %i -n %i@%H" in unit
    assert {p.name for p in (DEPLOY / "systemd").glob("*.service")} == {
        "neolight-web.service", "neolight-worker@.service", "neolight-beat.service"}

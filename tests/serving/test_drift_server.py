"""Drift in a real uvicorn server: GET /drift and the kiln_drift_* gauges on /metrics follow a
rolling window of the recent inputs; shifted rows drift, rows like the training data do not."""

from __future__ import annotations

import httpx

from tests.helpers.server import live_server, to_records


def post_rows(url: str, rows, chunk: int = 50) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        for i in range(0, len(rows), chunk):
            r = c.post("/predict", json=to_records(rows.iloc[i : i + chunk]))
            assert r.status_code == 200, r.text


def test_drift_window_flags_shifted_rows_then_clears(penguins_artifact, penguins_rows):
    clean = penguins_rows.sample(frac=1, random_state=0).reset_index(drop=True)
    moved = clean.copy()
    for col in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):
        moved[col] += clean[col].std()  # 4 of 7 features move: dataset drift
    settings = {"drift_window": 300, "drift_every": 50, "drift_min_rows": 100}
    with live_server(penguins_artifact, **settings) as (url, _):
        post_rows(url, clean.head(20))
        warm = httpx.get(f"{url}/drift").json()
        assert warm["status"] == "warming_up" and warm["window_rows"] == 20
        post_rows(url, moved.head(300))
        shifted = httpx.get(f"{url}/drift").json()
        metrics = httpx.get(f"{url}/metrics").text
        post_rows(url, clean)  # 344 fresh rows push the shifted ones out of the window
        fresh = httpx.get(f"{url}/drift").json()
        fresh_metrics = httpx.get(f"{url}/metrics").text
    assert shifted["status"] == "ok" and shifted["window_rows"] == 300
    assert shifted["dataset_drift"] and shifted["drift"]
    assert set(shifted["drifted_features"]) >= {"bill_length_mm", "flipper_length_mm"}
    assert "kiln_dataset_drift 1.0" in metrics
    assert 'kiln_drift_detected{feature="bill_length_mm"} 1.0' in metrics
    assert 'kiln_drift_p_value{feature="bill_length_mm"}' in metrics
    assert fresh["status"] == "ok" and fresh["rows_seen"] == 664
    assert not fresh["drift"] and fresh["drifted_features"] == [], fresh["drifted_features"]
    assert "kiln_dataset_drift 0.0" in fresh_metrics
    assert 'kiln_drift_detected{feature="bill_length_mm"} 0.0' in fresh_metrics
    assert 'kiln_requests_total{path="/drift",status="200"} 3.0' in fresh_metrics


def test_drift_is_computed_every_n_rows_not_per_request(penguins_artifact, penguins_rows):
    with live_server(penguins_artifact, drift_window=200, drift_every=100, drift_min_rows=50) as (
        url,
        app,
    ):
        post_rows(url, penguins_rows.head(60), chunk=1)
        first = httpx.get(f"{url}/drift").json()
        post_rows(url, penguins_rows.iloc[60:90], chunk=1)
        same = httpx.get(f"{url}/drift").json()  # 30 new rows < every: the cached report
        post_rows(url, penguins_rows.iloc[90:200], chunk=10)
        newer = httpx.get(f"{url}/drift").json()
    assert first["rows_seen"] == same["rows_seen"] == 60
    assert newer["rows_seen"] == 200 and newer["window_rows"] == 200


def test_drift_disabled_answers_200(penguins_artifact, penguins_rows):
    with live_server(penguins_artifact, drift_window=0) as (url, _):
        post_rows(url, penguins_rows.head(5))
        r = httpx.get(f"{url}/drift")
        m = httpx.get(f"{url}/metrics")
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    assert m.status_code == 200 and "kiln_dataset_drift" in m.text


def gauge(metrics: str, name: str) -> str:
    """The value of an unlabelled gauge in a Prometheus exposition."""
    return next(line.split()[1] for line in metrics.splitlines() if line.startswith(f"{name} "))


def test_gauges_during_warm_up(penguins_artifact, penguins_rows):
    """Before min_rows the window's row count shows, and dataset drift is NaN (not 0, which
    would read as "no drift" though nothing was compared)."""
    with live_server(penguins_artifact, drift_window=300, drift_every=50, drift_min_rows=100) as (
        url,
        _,
    ):
        before = httpx.get(f"{url}/metrics").text
        post_rows(url, penguins_rows.head(6), chunk=1)
        warm = httpx.get(f"{url}/drift").json()
        metrics = httpx.get(f"{url}/metrics").text
        post_rows(url, penguins_rows.iloc[6:120])
        metrics_ok = httpx.get(f"{url}/metrics").text
    assert gauge(before, "kiln_dataset_drift") == "NaN"
    assert warm["status"] == "warming_up" and warm["window_rows"] == 6
    assert gauge(metrics, "kiln_drift_window_rows") == "6.0"
    assert gauge(metrics, "kiln_dataset_drift") == "NaN"
    assert gauge(metrics_ok, "kiln_drift_window_rows") == "120.0"
    assert gauge(metrics_ok, "kiln_dataset_drift") in ("0.0", "1.0")

"""kiln serve against a real uvicorn on 127.0.0.1 and real HTTP clients."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import REPO, cli
from tests.helpers.server import free_port, live_server, to_records, wait_ready


def test_server_equals_kiln_predict_and_pytorch(
    penguins_artifact, penguins_ckpt, penguins_rows, tmp_path
):
    from tests.helpers.export_oracle import torch_pipeline

    rows = penguins_rows.sample(40, random_state=0)
    src, out = tmp_path / "rows.csv", tmp_path / "preds.csv"
    rows.to_csv(src, index=False)
    proc = cli(
        "predict",
        f"artifact={penguins_artifact}",
        f"input={src}",
        f"output={out}",
        "chunk_rows=7",
        runs=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    batch = pd.read_csv(out)
    with live_server(penguins_artifact) as (url, _):
        served = httpx.post(f"{url}/predict", json=to_records(rows), timeout=30).json()[
            "predictions"
        ]
        one = httpx.post(f"{url}/predict", json=to_records(rows.head(1))[0], timeout=30).json()
    pipeline, schema = torch_pipeline(penguins_ckpt)
    import torch

    with torch.inference_mode():
        expected = pipeline(*map(torch.from_numpy, schema.encode(rows))).numpy()
    labels = ["Adelie", "Chinstrap", "Gentoo"]
    served_p = np.array([[p["probabilities"][c] for c in labels] for p in served])
    batch_p = batch[[f"proba_{c}" for c in labels]].to_numpy()
    assert np.abs(served_p - expected).max() <= 1e-4 and np.abs(batch_p - expected).max() <= 1e-4
    assert [p["prediction"] for p in served] == batch["prediction"].tolist()
    assert one == served[0]
    pd.testing.assert_frame_equal(
        batch[rows.columns], rows.reset_index(drop=True), check_dtype=False
    )


def test_16_clients_x_200_requests_without_errors(penguins_artifact, penguins_rows):
    records = to_records(penguins_rows)
    with live_server(penguins_artifact, max_batch_size=64, max_wait_ms=2) as (url, app):

        def client(k: int) -> list[int]:
            with httpx.Client(base_url=url, timeout=30) as c:
                return [
                    c.post("/predict", json=records[(k * 200 + i) % len(records)]).status_code
                    for i in range(200)
                ]

        with ThreadPoolExecutor(16) as pool:
            codes = [s for r in pool.map(client, range(16)) for s in r]
        metrics = httpx.get(f"{url}/metrics").text
    assert len(codes) == 3200 and set(codes) == {200}
    assert 'kiln_requests_total{path="/predict",status="200"} 3200.0' in metrics
    assert "kiln_rows_predicted_total 3200.0" in metrics
    calls = float(metrics.split("kiln_batch_size_rows_count ")[1].split()[0])
    assert calls < 3200, "concurrent requests were never batched together"
    missing = sum(
        r["sex"] is None
        for r in (records[(k * 200 + i) % len(records)] for k in range(16) for i in range(200))
    )
    assert f'kiln_missing_values_total{{feature="sex"}} {float(missing)}' in metrics


def test_bad_requests_get_4xx_naming_the_field(penguins_artifact, penguins_rows):
    good = to_records(penguins_rows.head(1))[0]
    cases = [
        (b"{not json", 400, "body is not valid JSON"),
        (b"", 400, "body is empty"),
        (json.dumps({k: v for k, v in good.items() if k != "island"}), 422, "'island' is missing"),
        (json.dumps({**good, "bill_depth_mm": "deep"}), 422, "'bill_depth_mm'"),
        (json.dumps({**good, "colour": "blue"}), 422, "'colour'"),
        (json.dumps([good] * 11), 413, "max_rows=10"),
        (json.dumps("hello"), 422, "body is a JSON str"),
        (b"[" * 4000, 400, "body"),
        (b"x" * 5000, 413, "body"),
    ]
    with live_server(penguins_artifact, max_rows=10, max_body_bytes=4096) as (url, _):
        for body, status, words in cases:
            r = httpx.post(
                f"{url}/predict", content=body, headers={"content-type": "application/json"}
            )
            assert r.status_code == status and words in r.json()["detail"], (body[:60], r.text)
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        meta = httpx.get(f"{url}/metadata").json()
        assert meta["labels"] == ["Adelie", "Chinstrap", "Gentoo"] and meta["content_hash"]
        assert httpx.get(f"{url}/docs").status_code == 200
        assert "/predict" in httpx.get(f"{url}/openapi.json").json()["paths"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=8)
    ),
    max_leaves=20,
)


def test_fuzzed_bodies_never_get_a_5xx(penguins_artifact, penguins_rows):
    good = to_records(penguins_rows.head(1))[0]
    field_values = st.fixed_dictionaries(
        {k: st.one_of(st.just(v), json_values) for k, v in good.items()}
    )
    bodies = st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        field_values.map(lambda v: json.dumps(v).encode()),
        st.lists(field_values, min_size=1, max_size=5).map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=64),
    )
    with live_server(penguins_artifact) as (url, _), httpx.Client(base_url=url) as client:

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(bodies)
        def check(body: bytes) -> None:
            r = client.post("/predict", content=body, headers={"content-type": "application/json"})
            assert r.status_code < 500, (body, r.text)
            assert r.status_code in (200, 400, 413, 422), (body, r.text)

        check()
        assert httpx.get(f"{url}/ready").status_code == 200


def test_api_key_is_required_when_set(penguins_artifact, penguins_rows):
    record = to_records(penguins_rows.head(1))[0]
    with live_server(penguins_artifact, api_key="s3cret") as (url, _):
        assert httpx.post(f"{url}/predict", json=record).status_code == 401
        assert (
            httpx.post(f"{url}/predict", json=record, headers={"X-API-Key": "nope"}).status_code
            == 401
        )
        assert httpx.get(f"{url}/metadata").status_code == 401
        assert (
            httpx.post(f"{url}/predict", json=record, headers={"X-API-Key": "s3cret"}).status_code
            == 200
        )
        assert httpx.get(f"{url}/health").status_code == 200


def test_sigterm_finishes_requests_in_flight(penguins_artifact, penguins_rows, tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KILN_RUNS": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiln", "serve", f"artifact={penguins_artifact}", f"port={port}",
         "batching.max_wait_ms=3000", "batching.max_batch_size=1000"],  # fmt: skip
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        records = to_records(penguins_rows.head(8))
        sent = threading.Barrier(9)

        def call(rec) -> int:
            sent.wait()
            return httpx.post(f"{url}/predict", json=rec, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(call, r) for r in records]
            sent.wait()
            threading.Event().wait(1.0)  # the requests now wait in the micro-batcher
            proc.send_signal(signal.SIGTERM)
            codes = [f.result() for f in futures]
        assert codes == [200] * 8
        # uvicorn re-raises the captured SIGTERM once it has shut down cleanly
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

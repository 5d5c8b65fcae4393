"""kiln serve at its edges, on a real server on 127.0.0.1: numbers Python cannot read, bodies of
the wrong content type, bodies that stop half-way, and a SIGTERM while requests are in flight."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.helpers import REPO
from tests.helpers.server import free_port, live_server, to_records, wait_ready


def _send_head(port: int, body: bytes, sent: int) -> socket.socket:
    """A raw POST /predict announcing ``len(body)`` bytes of which only ``sent`` are sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body[:sent])
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict]:
    """(status, JSON body) of one HTTP/1.1 response."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without an answer: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(v) for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "content-length"
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-response"
        rest += chunk
    return int(lines[0].split()[1]), json.loads(rest[:length])


def test_a_5000_digit_integer_is_a_422_naming_the_field(penguins_artifact, penguins_rows):
    good = to_records(penguins_rows.head(1))[0]
    body = json.dumps({**good, "bill_length_mm": 0}).replace(
        '"bill_length_mm": 0', '"bill_length_mm": ' + "9" * 5000
    )
    with live_server(penguins_artifact) as (url, _):
        r = httpx.post(f"{url}/predict", content=body, headers={"content-type": "application/json"})
        many = httpx.post(
            f"{url}/predict",
            content=f"[{json.dumps(good)}, {body}]",
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 422 and "'bill_length_mm'" in r.json()["detail"], r.text
    assert many.status_code == 422 and "'bill_length_mm'" in many.json()["detail"], many.text


def test_text_and_form_bodies_get_415(penguins_artifact, penguins_rows):
    good = json.dumps(to_records(penguins_rows.head(1))[0])
    with live_server(penguins_artifact) as (url, _):

        def post(content_type: str | None) -> httpx.Response:
            headers = {"content-type": content_type} if content_type else {}
            return httpx.post(f"{url}/predict", content=good, headers=headers)

        text, form = post("text/plain"), post("application/x-www-form-urlencoded")
        plain, charset, none = (
            post("application/json"),
            post("application/json; charset=utf-8"),
            post(None),
        )
    for r in (text, form):
        assert r.status_code == 415 and "application/json" in r.json()["detail"], r.text
    assert "'text/plain'" in text.json()["detail"]
    assert [r.status_code for r in (plain, charset, none)] == [200, 200, 200]


def test_a_half_sent_body_gets_408_and_the_server_goes_on(penguins_artifact, penguins_rows):
    body = json.dumps(to_records(penguins_rows.head(1))[0]).encode()
    with live_server(penguins_artifact, body_timeout_s=0.5) as (url, _):
        with _send_head(int(url.rsplit(":", 1)[1]), body, 10) as sock:
            status, answer = _read_response(sock)
        assert httpx.get(f"{url}/ready").status_code == 200
        assert httpx.post(f"{url}/predict", content=body).status_code == 200
    assert status == 408 and "no bytes arrived" in answer["detail"], answer


def test_sigterm_says_503_while_requests_drain_and_a_stalled_body_ends_in_408(
    penguins_artifact, penguins_rows, tmp_path
):
    """/ready answers 503 (not a refused connection) from SIGTERM until the requests in flight
    are answered; a body that never completes gets 408 after body_timeout_s rather than holding
    the shutdown for graceful_timeout_s and ending in CancelledError tracebacks."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KILN_RUNS": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiln", "serve", f"artifact={penguins_artifact}", f"port={port}",
         "body_timeout_s=4", "graceful_timeout_s=300", "log_level=info"],  # fmt: skip
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    body = json.dumps(to_records(penguins_rows.head(1))[0]).encode()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        stalled, slow = _send_head(port, body, 10), _send_head(port, body, 20)
        time.sleep(0.5)  # both requests reach the app, which now waits for their bodies
        proc.send_signal(signal.SIGTERM)
        ready = []
        for _ in range(5):
            time.sleep(0.1)
            ready.append(httpx.get(f"{url}/ready", timeout=10).status_code)
        slow.sendall(body[20:])
        slow_status, prediction = _read_response(slow)
        stalled_status, refusal = _read_response(stalled)
        slow.close(), stalled.close()
        code = proc.wait(timeout=120)  # well inside graceful_timeout_s=300
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert ready == [503] * 5
    assert slow_status == 200 and "prediction" in prediction, prediction
    assert stalled_status == 408 and "no bytes arrived" in refusal["detail"], refusal
    assert code in (0, -signal.SIGTERM)
    assert "Traceback" not in stderr and "CancelledError" not in stderr, stderr[-3000:]

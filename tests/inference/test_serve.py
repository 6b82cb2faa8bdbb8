"""`zazu serve` as a user runs it: a real subprocess on a loopback port, 8 clients at once,
good and bad requests mixed; every good answer is `zazu predict`'s, every bad one a 4xx."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

REPO = Path(__file__).resolve().parents[2]
BOUNDARY = "zazu-test-boundary"
LIMIT_MB = 0.25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(data: bytes, filename: str, field: str = "image") -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def call(port: int, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": content_type} if content_type else {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(cls_run, tmp_path_factory):
    model = json.loads((cls_run / "export" / "export.json").read_text())["files"]["int8"]
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "main.py"), "serve", model, "--port", str(port), "--workers", "2",
             "--max-upload-mb", str(LIMIT_MB)], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if call(port, "GET", "/health")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "zazu serve did not answer /health in 120 s:\n" + log.read_text()
        time.sleep(0.3)
    yield {"model": model, "port": port, "process": process, "log": log}
    process.terminate()
    process.wait(timeout=30)


def requests_mix(images: dict[str, bytes]) -> list[dict]:
    """200 requests: half valid (multipart and raw body), half bad in five ways."""
    rng = np.random.default_rng(0)
    names = sorted(images)
    first = images[names[0]]
    mix = []
    for k in range(200):
        name = names[k % len(names)]
        kind = k % 10
        if kind < 4:
            mix.append({"body": multipart(images[name], name), "multipart": True, "valid": name, "as": name})
        elif kind == 4:
            mix.append({"body": images[name], "multipart": False, "valid": name, "as": "image"})
        elif kind == 5:
            mix.append({"body": multipart(rng.bytes(2000), "garbage.png"), "multipart": True, "status": 400})
        elif kind == 6:
            mix.append({"body": multipart(first[: len(first) // 2], "truncated.png"), "multipart": True,
                        "status": 400})
        elif kind == 7:
            big = rng.bytes(int(LIMIT_MB * 2**20) + 50_000)
            mix.append({"body": multipart(big, "big.png"), "multipart": True, "status": 413})
        elif kind == 8:
            mix.append({"body": multipart(images[name], name, field="file"), "multipart": True, "status": 400})
        else:
            mix.append({"body": b"", "multipart": False, "status": 400})
    return mix


def test_serve_answers_200_mixed_requests_from_8_clients_as_predict_does(server, cls_dataset):
    from PIL import Image

    from zazu.inference import Predictor

    images = {}
    for path in sorted(cls_dataset.glob("*/*_000[0-1].png")):  # 8 PNGs, and the same as JPEG
        images[f"{path.parent.name}{path.stem[-1]}.png"] = path.read_bytes()
        buffer = io.BytesIO()
        Image.open(path).convert("RGB").save(buffer, "JPEG", quality=85)
        images[f"{path.parent.name}{path.stem[-1]}.jpg"] = buffer.getvalue()
    predictor = Predictor(server["model"])
    expected = {(name, as_name): json.loads(json.dumps(predictor.predict_bytes(data, as_name)))
                for name, data in images.items() for as_name in (name, "image")}
    mix = requests_mix(images)

    def send(request):
        content_type = f"multipart/form-data; boundary={BOUNDARY}" if request["multipart"] else "image/png"
        return call(server["port"], "POST", "/predict", request["body"], content_type)

    with ThreadPoolExecutor(8) as clients:
        answers = list(clients.map(send, mix))

    for k, (request, (status, content_type, body)) in enumerate(zip(mix, answers)):
        assert content_type == "application/json", (k, status, body[:200])
        answer = json.loads(body)
        if "valid" in request:
            assert status == 200, (k, answer)
            assert answer == expected[(request["valid"], request["as"])], k
        else:
            assert status == request["status"], (k, status, answer)
            assert set(answer) == {"error"} and answer["error"], (k, answer)
    assert sum(status == 200 for status, _, _ in answers) == 100
    # still alive and well, and nothing it logged was a server fault
    status, _, body = call(server["port"], "GET", "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert server["process"].poll() is None
    log = server["log"].read_text()
    assert "Traceback" not in log and " 500 " not in log


def test_error_messages_name_what_was_wrong(server, cls_dataset):
    png = next(cls_dataset.glob("circle/*.png")).read_bytes()
    port = server["port"]
    form = f"multipart/form-data; boundary={BOUNDARY}"
    cases = [
        (multipart(png, "a.png", field="file"), form, 400, "missing form field 'image'"),
        (multipart(b"hello", "notes.txt"), form, 400, "notes.txt: not an image"),
        (multipart(png[:100], "cut.png"), form, 400, "cut.png: unreadable image"),
        (b"x" * int(LIMIT_MB * 2**20 + 1), "image/png", 413, "upload too large"),
        (b"", "image/png", 400, "empty request"),
        (b"--nope\r\n", form, 400, ""),
    ]
    for body, content_type, status, message in cases:
        got, _, answer = call(port, "POST", "/predict", body, content_type)
        assert got == status and message in json.loads(answer)["error"], (message, got, answer)
    assert call(port, "GET", "/predict")[0] == 405
    assert json.loads(call(port, "GET", "/nowhere")[2]) == {"error": "Not Found"}


def test_metadata_describes_the_served_file(server):
    from zazu.inference import Predictor

    status, _, body = call(server["port"], "GET", "/metadata")
    metadata = json.loads(body)
    described = json.loads(json.dumps(Predictor(server["model"]).describe()))
    assert status == 200 and {k: metadata[k] for k in described} == described
    assert metadata["classes"] == ["circle", "cross", "square", "triangle"] and metadata["input_size"] == [32, 32]
    assert metadata["workers"] == 2 and metadata["max_upload_bytes"] == int(LIMIT_MB * 2**20)


def test_serve_with_a_missing_model_fails_cleanly(tmp_path):
    from zazu.cli import cli

    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "nope.tflite"), "--port", str(free_port())])

    assert result.exit_code == 2
    assert "Model file not found" in result.output and "Traceback" not in result.output


def test_serve_on_a_busy_port_fails_cleanly_before_loading_the_model(server):
    from zazu.cli import cli

    result = CliRunner().invoke(cli, ["serve", server["model"], "--port", str(server["port"])])

    assert result.exit_code == 2
    assert f"Cannot listen on 127.0.0.1:{server['port']}" in result.output and "Traceback" not in result.output


def test_importing_the_cli_does_not_import_the_web_server():
    code = "import sys, zazu.cli; print(any(m in sys.modules for m in ('fastapi', 'uvicorn', 'starlette')))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_interactive_docs_are_off_unless_asked_for(server):
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert call(server["port"], "GET", path)[0] == 404, path


def test_a_huge_declared_body_is_refused_before_it_is_read(server):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=10) as connection:
        connection.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                           b"Content-Length: 1000000000000\r\n\r\nshort")  # and nothing more is coming
        answer = b""
        while b"}" not in answer:  # headers and the JSON body may come in two packets
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
        answer = answer.decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "1000000000000 bytes declared" in answer and time.monotonic() - started < 5


def test_a_fault_answers_500_without_internal_detail(cls_run):
    import asyncio

    from zazu.inference.serve import create_app

    model = json.loads((cls_run / "export" / "export.json").read_text())["files"]["int8"]
    app = create_app(model, workers=1)
    handler = app.exception_handlers[Exception]
    response = asyncio.run(handler(None, RuntimeError("/home/secret/tensorflow/op.cc:42 internal state")))
    assert response.status_code == 500
    body = json.loads(response.body)
    assert body == {"error": "internal error; the server's log has the detail"}


@pytest.mark.parametrize("value", ["nan", "inf", "1e9"])
def test_serve_refuses_a_non_finite_or_absurd_upload_limit(cls_run, value):
    from zazu.cli import cli

    model = json.loads((cls_run / "export" / "export.json").read_text())["files"]["int8"]
    result = CliRunner().invoke(cli, ["serve", model, "--max-upload-mb", value])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--max-upload-mb" in lines[0], result.output

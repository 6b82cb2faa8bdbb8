"""Serving benchmark: requests per second and latency of `zazu serve` on loopback.

Starts `zazu serve MODEL` as a subprocess (once per --workers value), then for
each number of concurrent clients (--clients, default 1 and 8) sends multipart
`POST /predict` requests of --image-size JPEGs over keep-alive connections
(Python's http.client, one thread per client) until --requests answers or
--seconds have passed, after a short warm-up. Prints requests per second and
the p50 / p99 latency seen by the clients; every answer must be a 200.

Without --model, a model is made first: tiny_cnn trained for one epoch on a
small synthetic classification set and exported as int8 TFLite (about a minute).

    python bench/serve.py [--model runs/<run>/export/model_int8.tflite] [--workers 1,2] [--clients 1,8]
                          [--requests 400] [--seconds 30] [--image-size 640x480] [--json rows.json]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

import numpy as np  # noqa: E402

BOUNDARY = "zazu-bench-boundary"


def make_model(folder: Path) -> Path:
    """tiny_cnn, 1 epoch on a synthetic 4-class set, exported as int8 TFLite."""
    from zazu.config import resolve_config
    from zazu.console import Reporter
    from zazu.data.synthetic import write_classification_dataset
    from zazu.search.driver import run_search

    data = write_classification_dataset(folder / "data", per_class=12, size=64, seed=1)
    config = resolve_config(overrides={
        "task": "classification", "data": {"home_path": str(data)}, "models": ["tiny_cnn"], "max_trials": 1,
        "epochs": 1, "output": str(folder / "run"),
        "export": {"formats": ["int8"], "profile_runs": 2, "edgetpu_compiler": False}})
    return Path(run_search(config, reporter=Reporter(quiet=True)).export["files"]["int8"])


def jpeg_images(count: int, width: int, height: int) -> list[bytes]:
    """Smooth random colour fields with a bright square: JPEG-sized like camera frames, not noise."""
    from PIL import Image

    rng = np.random.default_rng(0)
    images = []
    for _ in range(count):
        small = rng.uniform(0, 255, (height // 32 + 1, width // 32 + 1, 3)).astype(np.uint8)
        image = Image.fromarray(small).resize((width, height), Image.BILINEAR)
        x, y = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        image.paste((255, 255, 255), (x, y, x + width // 4, y + height // 4))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


def multipart(data: bytes, filename: str) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{filename}\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: Path, port: int, workers: str, threads: int | None, log_file) -> subprocess.Popen:
    command = [sys.executable, str(REPO / "main.py"), "serve", str(model), "--port", str(port)]
    if workers != "default":
        command += ["--workers", workers]
    if threads:
        command += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"zazu serve exited with {server.returncode}; see {log_file.name}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("zazu serve did not answer /health within 120 s")


def metadata(port: int) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metadata")
    return json.loads(connection.getresponse().read())


def run_clients(port: int, bodies: list[bytes], clients: int, requests: int, seconds: float) -> dict:
    """`clients` threads POST bodies until `requests` answers in all or `seconds` passed."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    sent = [0]
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= requests:
                    return
                k = sent[0]
                sent[0] += 1
            started = time.perf_counter()
            connection.request("POST", "/predict", body=bodies[k % len(bodies)], headers=headers)
            response = connection.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    failures.append(f"{response.status}: {payload[:200]!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "seconds": wall, "rps": len(latencies) / wall,
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "failures": failures}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a .tflite or .keras exported by Zazu")
    parser.add_argument("--workers", default="default",
                        help="comma-separated `zazu serve --workers` values to compare (default: the server's)")
    parser.add_argument("--clients", default="1,8", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--requests", type=int, default=400, help="timed requests per row, at most")
    parser.add_argument("--seconds", type=float, default=30.0, help="time per row, at most")
    parser.add_argument("--image-size", default="640x480", help="WIDTHxHEIGHT of the JPEGs sent")
    parser.add_argument("--threads", type=int, default=None, help="zazu serve --threads")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    parser.add_argument("--quick", action="store_true",
                        help="1 client, at most 8 requests or 2 s, 160x120 JPEGs: a code-path check (seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.requests, args.seconds, args.image_size = "1", 8, 2.0, "160x120"

    width, height = (int(v) for v in args.image_size.lower().split("x"))
    bodies = [multipart(data, f"bench{k}.jpg") for k, data in enumerate(jpeg_images(8, width, height))]
    with tempfile.TemporaryDirectory(prefix="zazu-bench-serve-") as folder:
        folder = Path(folder)
        model = args.model
        if model is None:
            os.environ.setdefault("ZAZU_CACHE", str(folder / "cache"))
            print("no --model: training tiny_cnn for 1 epoch and exporting it as int8 ...", flush=True)
            model = make_model(folder)
        print(f"model {model}, {width}x{height} JPEGs (~{len(bodies[0]) // 1024} KiB), loopback, "
              f"{os.cpu_count()} CPUs; each row: at most {args.requests} requests or {args.seconds:g} s "
              f"after {4} warm-up requests per client")
        header = f"{'workers':>8}{'clients':>8}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-200':>9}"
        print(header)
        print("-" * len(header))
        results = []
        for run, requested in enumerate(args.workers.split(",")):
            port = free_port()
            with open(folder / f"serve-{run}.log", "w") as log_file:
                server = start_server(model, port, requested.strip(), args.threads, log_file)
                try:
                    workers = metadata(port)["workers"]
                    for clients in (int(c) for c in args.clients.split(",")):
                        run_clients(port, bodies, clients, 4 * clients, args.seconds)  # warm-up
                        row = run_clients(port, bodies, clients, args.requests, args.seconds)
                        results.append({"workers": workers, "clients": clients, **row})
                        print(f"{workers:>8}{clients:>8}{row['requests']:>10}{row['rps']:>9.1f}{row['p50_ms']:>9.1f}"
                              f"{row['p99_ms']:>9.1f}{len(row['failures']):>9}", flush=True)
                        for failure in row["failures"][:3]:
                            print(f"    {failure}")
                finally:
                    server.terminate()
                    server.wait(timeout=30)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")  # TensorFlow's and LiteRT's own lines into ~/.cache/zazu/logs/
    sys.exit(main())

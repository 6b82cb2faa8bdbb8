"""An exported model as an HTTP service (FastAPI on uvicorn): what `zazu serve` runs.

- `POST /predict`: a multipart `image` field (`curl -F image=@cat.jpg`) or the image
  bytes as the whole body; returns `Predictor.predict_bytes`, the JSON of `zazu predict`.
- `GET /health`, `GET /metadata` (`Predictor.describe()`: task, classes, input size, sha256).

Concurrency: a Predictor holds one LiteRT interpreter (or Keras model) and is not
thread-safe, so each process loads `workers` Predictors at start and runs
predictions on as many threads, each thread taking a free Predictor for one
request (`workers=1` is the single Predictor behind a lock). The event loop only
reads requests and writes answers, so `/health` answers while predictions run.

Bad input never reaches the model and never takes the server down: every error
is a JSON `{"error": "..."}` with a 4xx status (413 for an oversized upload or
image, 400 otherwise); a fault in Zazu itself is a 500, logged, and the server goes on.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint's `request: Request`
# annotation at runtime, and Request is imported inside create_app (import zazu stays light).
import asyncio
import io
import queue
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable

from zazu.errors import ZazuError

MAX_PIXELS = 50_000_000  # an upload within the byte limit can still decode to gigabytes (a PNG of zeros)
DRAIN_FACTOR = 8  # an oversized body is read and dropped up to this many times the limit, so the client gets the 413
FIELD = "image"


class RequestError(Exception):
    """A request Zazu refuses: `status` (4xx) and the message of the JSON error."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class PredictorPool:
    """`size` Predictors of one model file, each used by one thread at a time."""

    def __init__(self, model: str | Path, size: int, num_threads: int | None = None):
        from zazu.inference.predictor import Predictor

        if size < 1:
            raise ZazuError(f"Expected at least 1 worker. Received: workers={size}")
        self.size = size
        self.predictors = [Predictor(model, num_threads=num_threads) for _ in range(size)]
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for predictor in self.predictors:
            predictor.predict_bytes(_blank_png(), "warm-up")  # imports TensorFlow and builds the ops now
            self._free.put(predictor)
        # as many threads as Predictors: a thread never waits for a free one
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="zazu-predict")

    def describe(self) -> dict[str, Any]:
        return self.predictors[0].describe()

    def _with_predictor(self, work: Callable):
        predictor = self._free.get()
        try:
            return work(predictor)
        finally:
            self._free.put(predictor)

    async def run(self, work: Callable):
        """`work(predictor)` on a prediction thread; the event loop stays free meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._with_predictor, work)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


def _blank_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (128, 128, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def create_app(model: str | Path, workers: int = 2, max_upload_bytes: int = 10 * 2**20,
               num_threads: int | None = None, max_pixels: int = MAX_PIXELS, docs: bool = False):
    """The FastAPI app serving `model`, its Predictors loaded now (errors surface before listening).
    FastAPI's interactive docs and OpenAPI schema only with `docs` (`zazu serve --docs`)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    pool = PredictorPool(model, workers, num_threads)
    info = pool.describe()

    @asynccontextmanager
    async def lifespan(app):
        yield
        pool.close()

    hidden = {} if docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title=f"Zazu: {info['model']} ({info['task']})", version=info["sha256"][:12],
                  description=f"{info['file']}: POST an image to /predict.", lifespan=lifespan, **hidden)
    app.state.pool = pool

    @app.exception_handler(RequestError)
    async def refused(request, error: RequestError):
        return JSONResponse({"error": error.message}, status_code=error.status)

    @app.exception_handler(HTTPException)
    async def http_error(request, error: HTTPException):  # 404, 405, and starlette's own 400s (bad multipart)
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, error: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return JSONResponse({"error": f"invalid request: {problems}"}, status_code=422)

    @app.exception_handler(Exception)
    async def fault(request, error: Exception):
        # Zazu's own fault: the detail (library internals, paths) goes to the server log with the
        # traceback uvicorn writes; the client learns only that it was not its request's fault
        return JSONResponse({"error": "internal error; the server's log has the detail"}, status_code=500)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": info["file"], "workers": pool.size}

    @app.get("/metadata")
    async def metadata() -> dict:
        return {**info, "workers": pool.size, "max_upload_bytes": max_upload_bytes, "max_pixels": max_pixels}

    @app.post("/predict")
    async def predict(request: Request) -> dict:
        """A multipart `image` field, or the image bytes as the body -> the prediction JSON."""
        body = await read_body(request, max_upload_bytes)
        data, name = await image_from(request, body)
        check_pixels(data, name, max_pixels)
        return await pool.run(lambda predictor: _predict(predictor, data, name))

    return app


def _predict(predictor, data: bytes, name: str) -> dict:
    from zazu.inference.predictor import InvalidImage

    try:
        return predictor.predict_bytes(data, name)
    except InvalidImage as error:
        raise RequestError(400, str(error)) from None


async def read_body(request, limit: int) -> bytes:
    """The request body, or a 413 once it passes `limit` bytes (what is left is read and dropped
    up to DRAIN_FACTOR x limit, so the client has finished sending when the answer comes)."""
    from starlette.requests import ClientDisconnect

    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > DRAIN_FACTOR * limit:
        # refused before reading: such a body is not drained, and a short one would keep us waiting for the rest
        raise RequestError(413, f"upload too large: {declared} bytes declared. Expected at most {limit} bytes "
                                f"({limit / 2**20:g} MB, the server's --max-upload-mb).")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            elif size > DRAIN_FACTOR * limit:
                break
    except ClientDisconnect:  # nobody is left to answer; a 4xx keeps it out of the fault log
        raise RequestError(400, "the client disconnected before the request body was complete") from None
    if size > limit:
        total = f"{declared} bytes" if declared and declared.isdigit() else f"more than {limit} bytes"
        raise RequestError(413, f"upload too large: {total}. Expected at most {limit} bytes "
                                f"({limit / 2**20:g} MB, the server's --max-upload-mb).")
    return b"".join(chunks)


async def image_from(request, body: bytes) -> tuple[bytes, str]:
    """(image bytes, name) from a multipart form's `image` field, or from the raw body."""
    from starlette.datastructures import UploadFile
    from starlette.requests import Request

    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        if not body:
            raise RequestError(400, f"empty request. Expected a multipart file field {FIELD!r} "
                                    f"(curl -F {FIELD}=@photo.jpg) or the image bytes as the body.")
        return body, FIELD

    async def replay():  # the body was read already (to enforce the limit): hand it to the form parser
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, receive=replay).form(max_files=4, max_fields=16)
    try:
        field = form.get(FIELD)
        if field is None:
            raise RequestError(400, f"missing form field {FIELD!r}. Expected a file field named {FIELD!r} "
                                    f"(curl -F {FIELD}=@photo.jpg). Received fields: {sorted(form.keys()) or 'none'}")
        if not isinstance(field, UploadFile):
            raise RequestError(400, f"form field {FIELD!r} is text, not a file. Expected a file upload "
                                    f"(curl -F {FIELD}=@photo.jpg). Received: {str(field)[:40]!r}")
        return await field.read(), Path(field.filename or FIELD).name
    finally:
        await form.close()


def check_pixels(data: bytes, name: str, max_pixels: int) -> None:
    """413 for an image whose header declares more than `max_pixels` (read without decoding)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:  # not an image at all: the Predictor says so, in its own words
        return
    if width * height > max_pixels:
        raise RequestError(413, f"{name}: image too large: {width}x{height} = {width * height} pixels. "
                                f"Expected at most {max_pixels} pixels.")


def default_workers() -> int:
    """One Predictor per core, at most 4: measured on 2 cores (bench/serve.py, 8 clients), 2 Predictors
    answered 25-60% more requests per second than 1 behind a lock, and 4 no more than 2."""
    import os

    return max(1, min(os.cpu_count() or 1, 4))


MAX_UPLOAD_MB = 1024  # --max-upload-mb above this (or not a finite number) is refused: bodies are held in memory


def serve(model: str | Path, host: str = "127.0.0.1", port: int = 5000, workers: int | None = None,
          max_upload_mb: float = 10.0, num_threads: int | None = None, on_ready: Callable | None = None,
          docs: bool = False) -> None:
    """Load the model and serve it until interrupted."""
    import math

    if not (math.isfinite(max_upload_mb) and 0 < max_upload_mb <= MAX_UPLOAD_MB):
        raise ZazuError(f"Expected --max-upload-mb a number in (0, {MAX_UPLOAD_MB}]. "
                        f"Received: --max-upload-mb {max_upload_mb}")
    require_server_packages()
    import uvicorn

    check_can_listen(host, port)  # before loading the model: a busy port fails in a second, in one line
    app = create_app(model, workers or default_workers(), int(max_upload_mb * 2**20), num_threads, docs=docs)
    if on_ready is not None:
        on_ready(app.state.pool.describe())
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


def require_server_packages() -> None:
    import importlib.util

    missing = [name for name, module in (("fastapi", "fastapi"), ("uvicorn", "uvicorn"),
                                         ("python-multipart", "python_multipart"))
               if importlib.util.find_spec(module) is None]
    if missing:
        raise ZazuError(f"zazu serve needs {', '.join(missing)}. Expected them installed: "
                        "pip install -r requirements.txt")


def check_can_listen(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as error:
        raise ZazuError(f"Cannot listen on {host}:{port} ({error.strerror or error}). Expected a free port on a "
                        f"local address. Received: --host {host} --port {port}") from None

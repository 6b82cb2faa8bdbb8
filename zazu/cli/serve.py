"""`zazu serve MODEL`: an exported model as an HTTP service (POST /predict, GET /health, GET /metadata)."""

from __future__ import annotations

import click

from zazu.cli._base import cli, fails_cleanly, quiet_tensorflow


@cli.command("serve")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Predictions run at once: each worker thread has its own copy of the model. "
                   "Default: the number of CPU cores, at most 4.")
@click.option("--max-upload-mb", default=10.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="Larger request bodies get a 413.")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="CPU threads per .tflite interpreter. Default: LiteRT's, 1 (the workers share the cores).")
@click.option("--docs", is_flag=True, help="Also serve FastAPI's interactive docs (/docs) and schema (/openapi.json).")
@fails_cleanly
def serve_command(model, host, port, workers, max_upload_mb, threads, docs):
    """Serve a .keras or .tflite model exported by Zazu over HTTP.

    POST /predict with a multipart `image` field (curl -F image=@cat.jpg http://127.0.0.1:5000/predict)
    or the image as the body answers the JSON of `zazu predict`; GET /health; GET /metadata
    (task, classes, input size, file hash). Bad input gets a 4xx JSON {"error": ...}."""
    quiet_tensorflow("serve")
    from zazu.inference.serve import default_workers, serve

    workers = workers or default_workers()

    def ready(info: dict) -> None:
        click.echo(f"Serving {info['file']} ({info['model']}, {info['task']}, {len(info['classes'])} classes, "
                   f"sha256 {info['sha256'][:12]}) with {workers} worker(s) on http://{host}:{port}", err=True)

    serve(model, host, port, workers, max_upload_mb, threads, on_ready=ready, docs=docs)

"""SageMaker inference entry point (``docker run IMAGE serve``).

A small HTTP server from the standard library, following the SageMaker
hosting contract:

* ``GET /ping``: 200 once the model is loaded
* ``POST /invocations`` with ``Content-Type: text/csv``: one row of the 10
  preprocessed features per line (the layout ``preprocess`` writes, without
  the target column); answers one prediction per line, ``text/csv``
* port 8080, or ``SAGEMAKER_BIND_TO_PORT`` when SageMaker sets it

The model comes from ``/opt/ml/model`` (``model.joblib`` written by ``train``).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib
import numpy as np

from .data import N_FEATURES
from .train import MODEL_FILE

LOG = logging.getLogger("abalone_model.serve")
MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's real-time payload limit


class BadRequest(ValueError):
    """The request body cannot be turned into feature rows."""


def load_model(model_dir: str):
    path = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no {MODEL_FILE} in {model_dir}")
    return joblib.load(path)


def parse_csv(body: bytes) -> np.ndarray:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8 text") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    if not rows:
        raise BadRequest("no CSV rows in the request body")
    for number, row in enumerate(rows, start=1):
        if len(row) != N_FEATURES:
            raise BadRequest(f"row {number} has {len(row)} values, expected {N_FEATURES}")
    try:
        return np.asarray(rows, dtype=float)
    except ValueError:
        raise BadRequest("all values must be numbers") from None


def predict_csv(model, body: bytes) -> str:
    predictions = model.predict(parse_csv(body))
    return "".join(f"{value:.6f}\n" for value in predictions)


def make_handler(model):
    class Handler(BaseHTTPRequestHandler):
        server_version = "abalone-model"

        def _send(self, status: int, body: str, content_type: str = "text/plain") -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 (http.server naming)
            if self.path == "/ping":
                self._send(200, "healthy\n")
            else:
                self._send(404, "not found\n")

        def do_POST(self):  # noqa: N802
            if self.path != "/invocations":
                self._send(404, "not found\n")
                return
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type != "text/csv":
                self._send(415, "only text/csv is supported\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(413, "payload too large\n")
                return
            try:
                self._send(200, predict_csv(model, self.rfile.read(length)), "text/csv")
            except BadRequest as error:
                self._send(400, f"{error}\n")

        def log_message(self, format, *args):  # noqa: A002 (signature from http.server)
            LOG.info("%s %s", self.address_string(), format % args)

    return Handler


def make_server(model, host: str = "0.0.0.0", port: int = 8080) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(model))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="abalone_model serve")
    parser.add_argument("--model-dir", default="/opt/ml/model")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    )
    args = parser.parse_args(argv)
    server = make_server(load_model(args.model_dir), args.host, args.port)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    LOG.info("serving on %s:%d", args.host, server.server_address[1])
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0

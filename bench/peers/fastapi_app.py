"""FastAPI + kafka-python peer of ca4-processor, for bench/api_bench.sh.

The stack the seeds used, written the way a careful FastAPI developer would: the same contract
as ca4-processor (runtime/processor/openapi.yaml), so the benchmark compares like with like.

  POST /v1/metadata and /metadata   one envelope  -> 202 {"event_id": ..., "status": "accepted"}
  POST /v1/metadata:batch            JSON array    -> 202 {"results": [...]} (a result per record)
  GET  /healthz

Contract kept from ca4-processor:
  - bearer API key (constant-time compare); 401 otherwise;
  - pydantic validation of the whole envelope (unknown fields rejected), 422 with field paths;
  - publish keyed by event_id with acks=all (idempotent producer where kafka-python supports
    it), and answer 202 only after the broker acknowledged the record; 503 if it did not.
The Kafka future is bridged to asyncio (no thread is blocked per request), so the event loop keeps
serving while records are in flight - the fastest honest shape of this stack.

Run (one worker process, so the comparison is per core):
  CA4_KAFKA_BOOTSTRAP=127.0.0.1:9092 CA4_API_KEYS=bench-key \
    taskset -c 1 venv/bin/uvicorn --app-dir bench/peers fastapi_app:app \
      --host 127.0.0.1 --port 8081 --workers 1 --loop uvloop --http httptools \
      --no-access-log --log-level warning
Environment: CA4_KAFKA_BOOTSTRAP, CA4_API_KEYS (comma-separated), CA4_TOPIC (gpu-metadata),
CA4_LINGER_MS (5), CA4_BATCH_BYTES (1 MiB), CA4_ACK_TIMEOUT_S (10).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import os
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from kafka import KafkaProducer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, field_validator

TOPIC = os.environ.get("CA4_TOPIC", "gpu-metadata")
API_KEYS = [k.encode() for k in os.environ.get("CA4_API_KEYS", "bench-key").split(",") if k]
ACK_TIMEOUT_S = float(os.environ.get("CA4_ACK_TIMEOUT_S", "10"))

Str = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemKind(str, Enum):
    image = "image"
    video = "video"
    audio = "audio"
    text = "text"
    tabular = "tabular"
    other = "other"


class DeviceType(str, Enum):
    gpu = "gpu"
    tpu = "tpu"
    cpu = "cpu"


class Source(Strict):
    producer: NonEmpty
    producer_version: Str | None = None
    host: Str | None = None
    run_id: Str | None = None


class Item(Strict):
    uri: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
    sha256: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-fA-F]{64}$")]
    kind: ItemKind = ItemKind.other
    size_bytes: Annotated[int, Field(ge=0)]
    width: Annotated[int, Field(gt=0)] | None = None
    height: Annotated[int, Field(gt=0)] | None = None
    channels: Annotated[int, Field(gt=0)] | None = None
    mime_type: Str | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _lower_kind(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v


class Model(Strict):
    name: NonEmpty
    version: Str | None = None


class Device(Strict):
    type: DeviceType = DeviceType.cpu
    name: NonEmpty
    memory_mb: Annotated[int, Field(gt=0)] | None = None
    driver: Str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _lower_type(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
NonNegMs = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Extraction(Strict):
    model: Model
    embedding: Annotated[list[FiniteFloat], Field(min_length=1, max_length=4096)]
    device: Device


class Timings(Strict):
    preprocess_ms: NonNegMs | None = None
    inference_ms: NonNegMs | None = None
    total_ms: NonNegMs | None = None


class Envelope(Strict):
    schema_version: Annotated[str, Field(pattern=r"^ca4\.metadata/v1$")] = "ca4.metadata/v1"
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
    source: Source
    item: Item
    extraction: Extraction
    timings: Timings | None = None
    produced_at: datetime
    attributes: Annotated[dict[str, Str], Field(max_length=32)] | None = None

    @field_validator("produced_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("produced_at: timezone offset required")
        return v.astimezone(timezone.utc)


_batch_item = TypeAdapter(Envelope)


def _authorized(request: Request) -> bool:
    h = request.headers.get("authorization", "")
    if not h.startswith("Bearer "):
        return False
    got = h[7:].encode()
    ok = False
    for k in API_KEYS:  # compare against every key: time does not depend on which one matched
        ok |= hmac.compare_digest(got, k)
    return ok


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


class Publisher:
    """Owns the KafkaProducer; publish() resolves when the broker acknowledged (acks=all)."""

    def __init__(self) -> None:
        kw: dict[str, Any] = dict(
            bootstrap_servers=os.environ.get("CA4_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            acks="all",
            # librdkafka's defaults (what ca4-processor gets): kafka-python's own batch_size of
            # 16 KiB holds less than one 21.7 KB envelope, so every record would travel in its
            # own request, one round trip each (measured: ~25 req/s).
            linger_ms=int(os.environ.get("CA4_LINGER_MS", "5")),
            batch_size=int(os.environ.get("CA4_BATCH_BYTES", str(1024 * 1024))),
            max_request_size=8 * 1024 * 1024,
            retries=5,
            enable_idempotence=True,  # kafka-python >= 2.1
        )
        self.producer = KafkaProducer(**kw)

    def publish(self, key: str, value: bytes) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()

        def ok(_md: Any) -> None:
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(None))

        def err(e: BaseException) -> None:
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_exception(e))

        self.producer.send(TOPIC, key=key.encode(), value=value).add_callback(ok).add_errback(err)
        return fut

    def close(self) -> None:
        self.producer.flush(timeout=10)
        self.producer.close(timeout=10)


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.publisher = Publisher()
    yield
    app.state.publisher.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


async def _single(request: Request, env: Envelope) -> JSONResponse:
    if not _authorized(request):
        return _error(401, "unauthorized", "missing or invalid bearer API key")
    try:
        await asyncio.wait_for(
            request.app.state.publisher.publish(env.event_id, env.model_dump_json(exclude_none=True).encode()),
            ACK_TIMEOUT_S,
        )
    except Exception as e:  # noqa: BLE001 - any delivery failure means "not accepted"
        return JSONResponse(
            {"error": {"code": "kafka_unavailable", "message": type(e).__name__}},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    return JSONResponse({"event_id": env.event_id, "status": "accepted"}, status_code=202)


@app.post("/v1/metadata", status_code=202)
async def post_metadata(request: Request, env: Envelope) -> JSONResponse:
    return await _single(request, env)


@app.post("/metadata", status_code=202)
async def post_metadata_seed(request: Request, env: Envelope) -> JSONResponse:
    return await _single(request, env)


@app.post("/v1/metadata:batch", status_code=202)
async def post_batch(request: Request) -> JSONResponse:
    if not _authorized(request):
        return _error(401, "unauthorized", "missing or invalid bearer API key")
    if not request.headers.get("content-type", "").startswith("application/json"):
        return _error(415, "unsupported_media_type", "expected application/json")
    try:
        docs = json.loads(await request.body())
    except ValueError as e:
        return _error(400, "invalid_json", str(e))
    if not isinstance(docs, list):
        return _error(400, "invalid_json", "expected a JSON array")
    pub: Publisher = request.app.state.publisher
    results: list[dict[str, Any]] = [None] * len(docs)  # type: ignore[list-item]
    pending: list[tuple[int, str, asyncio.Future]] = []
    for i, d in enumerate(docs):
        try:
            env = _batch_item.validate_python(d)
        except ValidationError as e:
            results[i] = {"index": i, "status": "rejected", "errors": [
                {"path": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in e.errors()]}
            continue
        pending.append((i, env.event_id, pub.publish(env.event_id, env.model_dump_json(exclude_none=True).encode())))
    if pending:
        done = await asyncio.gather(*(asyncio.wait_for(f, ACK_TIMEOUT_S) for _, _, f in pending), return_exceptions=True)
        for (i, eid, _), r in zip(pending, done):
            results[i] = ({"index": i, "event_id": eid, "status": "accepted"} if r is None
                          else {"index": i, "event_id": eid, "status": "unavailable"})
    return JSONResponse({"results": results}, status_code=202)


if __name__ == "__main__":  # convenience: python fastapi_app.py [port]
    import sys

    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 8081,
                workers=1, loop="uvloop", http="httptools", access_log=False, log_level="warning")

"""The ceiling: bare Starlette doing the mock's in-memory work with no validation at all.

Same routes, same JSON shapes, a dict store, orjson, on the HTTP server `mockserver serve` runs
(Granian by default, `--server uvicorn`) with the mock's settings. What the mock loses against it
is the price of spec-driven validation and the generic engine.
"""

import argparse
import secrets
import string
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.httpserver import DEFAULT_SERVER, SERVERS, serve_app
from mockserver.listen import bind
from mockserver.readtimeout import DEFAULT_READ_TIMEOUT_S

ALPHABET = string.ascii_letters + string.digits
WRITABLE = ("customer_id", "verification_status", "document_type", "document_number")
RECORDS: dict[str, dict[str, Any]] = {}


def respond(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def authorized(request: Request) -> bool:
    return request.headers.get("authorization", "").startswith("Bearer test_")


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode()))
    return dict(orjson.loads(raw))


async def get_record(request: Request) -> Response:
    if not authorized(request):
        return respond(401, {"error": {"code": "authentication_required"}})
    record = RECORDS.get(request.path_params["id"])
    return respond(200, record) if record else respond(404, {"error": {"code": "resource_missing"}})


async def list_records(request: Request) -> Response:
    if not authorized(request):
        return respond(401, {"error": {"code": "authentication_required"}})
    status = request.query_params.get("verification_status")
    limit = int(request.query_params.get("limit", 10))
    data: list[dict[str, Any]] = []
    for record in reversed(RECORDS.values()):
        if status is None or record["verification_status"] == status:
            if len(data) == limit:
                return respond(200, {"has_more": True, "data": data})
            data.append(record)
    return respond(200, {"has_more": False, "data": data})


async def create_record(request: Request) -> Response:
    if not authorized(request):
        return respond(401, {"error": {"code": "authentication_required"}})
    body = await body_of(request)
    now = int(time.time())
    record = {"id": "".join(secrets.choice(ALPHABET) for _ in range(16))}
    record.update({k: body[k] for k in WRITABLE if k in body})
    record.update(created_at=now, updated_at=now)
    RECORDS[record["id"]] = record
    return respond(200, record)


async def update_record(request: Request) -> Response:
    if not authorized(request):
        return respond(401, {"error": {"code": "authentication_required"}})
    record = RECORDS.get(request.path_params["id"])
    if record is None:
        return respond(404, {"error": {"code": "resource_missing"}})
    body = await body_of(request)
    record = {**record, **{k: body[k] for k in WRITABLE if k in body}}
    record["updated_at"] = int(time.time())
    RECORDS[record["id"]] = record
    return respond(200, record)


async def load_fixtures(request: Request) -> Response:
    """The mock's control-plane fixtures format, so both are seeded the same way."""
    now = int(time.time())
    for entry in orjson.loads(await request.body())["records"]:
        record = {"created_at": now, "updated_at": now, **entry["record"]}
        RECORDS[record["id"]] = record
    return respond(200, {"loaded": len(RECORDS)})


async def status(request: Request) -> Response:
    return respond(200, {"records": len(RECORDS)})


app = Starlette(
    routes=[
        Route("/__mock/", status),
        Route("/__mock/fixtures", load_fixtures, methods=["POST"]),
        Route("/v1/kyc", list_records),
        Route("/v1/kyc", create_record, methods=["POST"]),
        Route("/v1/kyc/{id}", get_record),
        Route("/v1/kyc/{id}", update_record, methods=["PUT"]),
    ]
)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER)
    args = parser.parse_args()
    serve_app(
        args.server,
        app,
        bind("127.0.0.1", args.port),
        "warning",
        lambda: None,
        read_timeout_s=DEFAULT_READ_TIMEOUT_S,
        on_stop=lambda: None,
    )

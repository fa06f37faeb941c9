"""The floor: a bare FastAPI app doing the least a sign-on or a confirmation must do, the reference the storms are
measured against in the same run.

GET answers the same form page (the bytes the app served, read from FLOOR_PAGE); POST parses the same multipart
(or urlencoded) body with FastAPI's own form handling, and writes one signature-sized row and one outbox-sized row
in one transaction to the same database (tables of its own, made on start), then answers 303. No CSRF, no rate
limit, no rules, no templates: what is left is the framework, the form parser and the database.

    FLOOR_DATABASE_URL=sqlite:///... FLOOR_PAGE=page.html python -m uvicorn bench.floor:app --port 8123
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

from backend.db import make_engine, write_engine

metadata = MetaData()
floor_signature = Table(
    "floor_signature", metadata,
    Column("id", Integer, primary_key=True), Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)), Column("letter_id", Integer), Column("kind", String(20)),
    Column("display_name", String(200)), Column("name_key", String(200)), Column("signer_name", String(200)),
    Column("signer_role", String(200)), Column("contact_email", String(254)), Column("email_key", String(254)),
    Column("website", String(300)), Column("status", String(30)), Column("via", String(10)),
)
floor_outbox = Table(
    "floor_outbox", metadata,
    Column("id", Integer, primary_key=True), Column("created_at", DateTime(timezone=True)),
    Column("to_address", String(254)), Column("template", String(60)), Column("subject", String(300)),
    Column("text", Text), Column("html", Text), Column("status", String(10)), Column("message_id", String(200)),
)

engine = make_engine(os.environ["FLOOR_DATABASE_URL"])
writer = write_engine(engine)
metadata.create_all(engine)
PAGE = Path(os.environ["FLOOR_PAGE"]).read_bytes()
Text_ = Annotated[str, Form(max_length=5000)]
app = FastAPI()


@app.get("/{path:path}")
def page(path: str) -> Response:
    return HTMLResponse(PAGE)


@app.post("/{path:path}")
def submit(path: str, display_name: Text_ = "", signer_name: Text_ = "", signer_role: Text_ = "",
           contact_email: Text_ = "", website: Text_ = "", kind: Text_ = "organisation", version_id: Text_ = "",
           csrf_token: Text_ = "") -> Response:
    now = datetime.now(UTC)
    email = contact_email or f"{version_id}-{now.timestamp()}@floor.bench"
    with writer.begin() as conn:
        conn.execute(floor_signature.insert().values(
            created_at=now, updated_at=now, letter_id=1, kind=kind, display_name=display_name,
            name_key=display_name.casefold(), signer_name=signer_name, signer_role=signer_role,
            contact_email=email, email_key=email.casefold(), website=website, status="pending", via="open"))
        conn.execute(floor_outbox.insert().values(
            created_at=now, to_address=email, template="signature_confirm", subject="Confirm your signature",
            text="x" * 1500, html="x" * 3000, status="queued", message_id=f"<{now.timestamp()}@floor.bench>"))
    return RedirectResponse(f"/{path}/sent", status_code=303)

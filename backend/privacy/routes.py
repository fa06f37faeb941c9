"""Pages where a person sees, downloads and erases what is held about them."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from backend import ratelimit
from backend.config import get_settings
from backend.db import SessionDep
from backend.privacy import service
from backend.security import client_ip
from backend.web import render

router = APIRouter()

OptText = Annotated[str, Form(max_length=200)]


def _limit(request: Request, session: SessionDep, scope: str, setting: str) -> None:
    ratelimit.enforce(request=request, session=session, scope=f"signatures:{scope}", key=client_ip(request),
                      limit=str(getattr(get_settings(), setting)))


def _json_download(data: dict[str, object], filename: str) -> Response:
    return Response(json.dumps(data, indent=2, ensure_ascii=False, default=str), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@router.get("/manage/{token}/data", response_class=HTMLResponse, name="signatory_data")
def signatory_data_page(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    _limit(request, session, "token-page", "rate_limit_sign_link_page")
    data = service.signatory_data(session=session, token=token)
    response = render(request, "privacy/signatory.html", {"data": data, "token": token, "errors": {},
                                                         "fields": service.SIGNATURE_FIELDS})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/manage/{token}/data.json", name="signatory_data_json")
def signatory_data_json(request: Request, session: SessionDep, token: str) -> Response:
    _limit(request, session, "token-page", "rate_limit_sign_link_page")
    data = service.signatory_data(session=session, token=token)
    return _json_download(service.signatory_export(data), f"{data.letter.slug}-my-signature.json")


@router.post("/manage/{token}/erase", name="signatory_erase")
def signatory_erase(request: Request, session: SessionDep, token: str, confirm: OptText = "") -> Response:
    _limit(request, session, "confirm", "rate_limit_sign_confirm")
    if confirm != "yes":
        data = service.signatory_data(session=session, token=token)
        errors = {"confirm": "Tick the box to confirm that you want your data erased."}
        return render(request, "privacy/signatory.html", {"data": data, "token": token, "errors": errors,
                                                         "fields": service.SIGNATURE_FIELDS}, status_code=422)
    outcome = service.erase_signatory(session=session, token=token)
    session.commit()
    assert outcome.letter.id is not None
    service.forget_public_copies(letter_id=outcome.letter.id)
    return render(request, "privacy/erased.html", {"outcome": outcome, "published": outcome.letter.status ==
                                                    "published"})

"""Pages for measured commitments: the letter's commitments and public documents, one commitment with its
chart and evidence updates (edits keep the earlier values), and the public Atom feed of commitment updates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as HttpResponse
from sqlmodel import Session

from backend.accounts.deps import CurrentUser
from backend.campaigns.policy import Action, Permissions
from backend.commitments import forms, service
from backend.commitments.models import Direction, Unit
from backend.db import SessionDep, as_utc
from backend.deps import SettingsDep
from backend.letters import policy as letter_policy
from backend.letters.models import Letter
from backend.publishing import service as publishing
from backend.responses import replies, tracking
from backend.responses.models import COMMITMENT_STATUSES
from backend.web import flash, render, templates_of

router = APIRouter()

LABELS = {"unit_labels": service.UNIT_LABELS, "direction_labels": service.DIRECTION_LABELS,
          "commitment_labels": tracking.COMMITMENT_LABELS, "statuses": COMMITMENT_STATUSES,
          "units": list(Unit), "directions": list(Direction)}


# The letter's commitments -----------------------------------------------------------------------------------

def _index(request: Request, session: Session, letter: Letter, perms: Permissions, *,
           errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
           status_code: int = 200) -> HTMLResponse:
    documents = service.get_documents(session=session, letter=letter)
    sources = [(f"document:{d.id}", f"{d.title} ({d.publisher})") for d in documents]
    sources += [(f"response:{r.id}", f"{tracking.KIND_LABELS[r.kind]} from {rec.name}, "
                                     f"{r.received_on.day} {r.received_on:%B %Y}")
                for r, rec in replies.get_responses(session=session, letter=letter)]
    return render(request, "commitments/index.html", {
        "letter": letter, **letter_policy.nav(letter, perms.role), "can_edit": perms.record_response,
        "documents": documents,
        "sources": sources, "tracked": service.get_tracked(session=session, letter=letter),
        "errors": errors or {}, "values": values or {"direction": "up"}, **LABELS,
    }, status_code=status_code)


@router.get("/letters/{slug}/commitments", response_class=HTMLResponse, name="commitments")
def commitments_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.read)
    return _index(request, session, letter, perms)


@router.post("/letters/{slug}/documents", name="public_document_create")
def document_create(request: Request, session: SessionDep, user: CurrentUser,
                    form: Annotated[forms.DocumentForm, Form()], slug: str) -> HttpResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    values = form.values()
    try:
        document = service.add_document(session=session, letter=letter, values=values, user=user)
    except service.CommitmentErrors as exc:
        session.rollback()
        return _index(request, session, letter, perms, errors=exc.errors,
                      values={f"doc-{k}": v for k, v in values.items()} | {"direction": "up"}, status_code=422)
    session.commit()
    flash(request, f"“{document.title}” is attached to the letter: you can now record the commitments it makes.",
          "success")
    return RedirectResponse(f"/letters/{letter.slug}/commitments#new-commitment", status_code=303)


@router.post("/letters/{slug}/commitments", name="commitment_record")
def commitment_record(request: Request, session: SessionDep, user: CurrentUser,
                      form: Annotated[forms.CommitmentForm, Form()], slug: str) -> HttpResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    values = form.values()
    errors: dict[str, str] = {}
    measure = service.read_measure(values, errors)
    due_on = service.parse_day(values["due_on"], "due_on", errors, what="the due date")
    try:
        if errors:
            raise service.CommitmentErrors(errors)
        commitment = service.create_commitment(session=session, letter=letter, source=values["source"],
                                               text=values["text"], due_on=due_on, measure=measure, user=user)
    except service.CommitmentErrors as exc:
        session.rollback()
        if values["text"].strip() == "" and "text" not in exc.errors:
            exc.errors["text"] = "Enter what was promised."
        return _index(request, session, letter, perms, errors=errors | exc.errors, values=values, status_code=422)
    session.commit()
    flash(request, "The commitment has been recorded.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/commitments/{commitment.id}", status_code=303)


# One commitment -------------------------------------------------------------------------------------------------

def _measure_values(tracked: service.Tracked) -> dict[str, str]:
    m = tracked.measure
    if m is None:
        return {"direction": "up"}
    return {
        "metric": m.metric, "unit": m.unit, "unit_label": m.unit_label, "direction": m.direction,
        "baseline_value": service.plain_number(m.baseline_value) if m.baseline_value is not None else "",
        "baseline_on": m.baseline_on.isoformat() if m.baseline_on else "", "baseline_url": m.baseline_url or "",
        "target_value": service.plain_number(m.target_value), "target_on": m.target_on.isoformat(),
    }


def _show(request: Request, session: Session, letter: Letter, perms: Permissions, commitment_id: int, *,
          errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          status_code: int = 200) -> HTMLResponse:
    service.get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    tracked = service.get_tracked(session=session, letter=letter, commitment_id=commitment_id)[0]
    return render(request, "commitments/show.html", {
        "letter": letter, "role": perms.role, "perms": perms, "can_edit": perms.record_response, "t": tracked,
        "errors": errors or {},
        "values": values or (_measure_values(tracked) | {"noted_on": tracking.today().isoformat(),
                                                          "status": tracked.commitment.status}),
        **LABELS,
    }, status_code=status_code)


@router.get("/letters/{slug}/commitments/{commitment_id}", response_class=HTMLResponse, name="commitment_show")
def commitment_show(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                    commitment_id: int) -> HTMLResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.read)
    return _show(request, session, letter, perms, commitment_id)


@router.post("/letters/{slug}/commitments/{commitment_id}/updates", name="commitment_update_add")
def update_add(request: Request, session: SessionDep, user: CurrentUser, form: Annotated[forms.UpdateForm, Form()],
               slug: str, commitment_id: int) -> HttpResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    commitment = service.get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    measured = service.get_measure(session=session, commitment_id=commitment_id) is not None
    values = form.values()
    try:
        data = service.read_update(values, measured=measured, current_status=commitment.status)
        service.add_update(session=session, letter=letter, commitment_id=commitment_id, data=data, user=user)
    except service.CommitmentErrors as exc:
        session.rollback()
        tracked = service.get_tracked(session=session, letter=letter, commitment_id=commitment_id)[0]
        return _show(request, session, letter, perms, commitment_id, errors=exc.errors,
                     values=_measure_values(tracked) | values, status_code=422)
    session.commit()
    flash(request, "The update has been added.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/commitments/{commitment_id}#updates", status_code=303)


@router.post("/letters/{slug}/commitments/{commitment_id}/numbers", name="commitment_numbers")
def numbers_set(request: Request, session: SessionDep, user: CurrentUser, form: Annotated[forms.MeasureForm, Form()],
                slug: str, commitment_id: int) -> HttpResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    commitment = service.get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    values = form.values()
    errors: dict[str, str] = {}
    measure = service.read_measure(values, errors)
    if errors:
        return _show(request, session, letter, perms, commitment_id, errors=errors,
                     values=values | {"noted_on": tracking.today().isoformat(), "status": commitment.status},
                     status_code=422)
    service.set_measure(session=session, letter=letter, commitment_id=commitment_id, measure=measure, user=user)
    session.commit()
    flash(request, "The numbers have been saved." if measure else "The numbers have been removed.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/commitments/{commitment_id}", status_code=303)


def _edit_page(request: Request, letter: Letter, tracked: service.Tracked, evidence: Any, values: dict[str, str],
               errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    return render(request, "commitments/evidence_edit.html", {
        "letter": letter, "t": tracked, "evidence": evidence, "values": values, "errors": errors,
    }, status_code=status_code)


@router.get("/letters/{slug}/commitments/{commitment_id}/updates/{evidence_id}/edit", response_class=HTMLResponse,
            name="commitment_update_edit")
def update_edit(request: Request, session: SessionDep, user: CurrentUser, slug: str, commitment_id: int,
                evidence_id: int) -> HTMLResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    evidence = service.get_evidence(session=session, letter=letter, commitment_id=commitment_id,
                                    evidence_id=evidence_id)
    tracked = service.get_tracked(session=session, letter=letter, commitment_id=commitment_id, charts=False)[0]
    values = {"noted_on": evidence.noted_on.isoformat(), "link": evidence.link or "", "note": evidence.note,
              "value": service.plain_number(evidence.value) if evidence.value is not None else ""}
    return _edit_page(request, letter, tracked, evidence, values, {})


@router.post("/letters/{slug}/commitments/{commitment_id}/updates/{evidence_id}/edit",
             name="commitment_update_save")
def update_save(request: Request, session: SessionDep, user: CurrentUser,
                form: Annotated[forms.UpdateEditForm, Form()], slug: str, commitment_id: int,
                evidence_id: int) -> HttpResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    evidence = service.get_evidence(session=session, letter=letter, commitment_id=commitment_id,
                                    evidence_id=evidence_id)
    tracked = service.get_tracked(session=session, letter=letter, commitment_id=commitment_id, charts=False)[0]
    values = form.values()
    try:
        # An edit corrects the record; the status stays as it is (a change of status is a new update).
        data = service.read_update(values | {"status": tracked.commitment.status}, measured=tracked.measure is not None,
                                   current_status=tracked.commitment.status)
        service.edit_update(session=session, letter=letter, commitment_id=commitment_id, evidence_id=evidence_id,
                            data=data, user=user)
    except service.CommitmentErrors as exc:
        session.rollback()
        return _edit_page(request, letter, tracked, evidence, values, exc.errors, 422)
    session.commit()
    flash(request, "The update has been corrected. What it said before is kept beside it.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/commitments/{commitment_id}#update-{evidence_id}",
                            status_code=303)


# The public feed of commitment updates --------------------------------------------------------------------------

@router.get("/letters/{slug}/commitments.atom", name="commitments_feed", include_in_schema=False)
def commitments_feed(request: Request, session: SessionDep, settings: SettingsDep, slug: str) -> HttpResponse:
    letter = publishing.get_public(session=session, slug=slug)
    # Newest first by the day each is about (the figure's date, the day the commitment was recorded).
    dated: list[tuple[date, datetime, str, service.Tracked, Any]] = []
    for t in service.get_tracked(session=session, letter=letter, public_only=True, charts=False):
        at = as_utc(t.commitment.created_at) or t.commitment.created_at
        dated.append((at.date(), at, f"c{t.commitment.id}", t, None))
        for e in t.evidence:
            dated.append((e.noted_on, as_utc(e.updated_at) or e.updated_at, f"e{e.id}", t, e))
    dated.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    entries = [entry[1:] for entry in dated]
    updated = max((entry[1] for entry in dated), default=as_utc(letter.published_at))
    body = templates_of(request).env.get_template("commitments/feed.xml").render({
        "settings": settings, "letter": letter, "entries": entries[:200], "updated": updated,
        "labels": tracking.COMMITMENT_LABELS,
    })
    return HttpResponse(body, media_type="application/atom+xml; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})

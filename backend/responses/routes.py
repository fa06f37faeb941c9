"""Pages for sending the letter and tracking the reply: send, tracking, due-date counts, responses, commitments,
attachments, and the site admin's holiday table."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.responses import Response as HttpResponse
from sqlmodel import Session
from starlette.datastructures import FormData

from backend.accounts.deps import AdminUser, CurrentUser, OptionalUser
from backend.campaigns.policy import Action, Permissions
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.errors import InvalidInput, NotFound, ServiceError
from backend.inbound import service as inbound
from backend.letters import policy as letter_policy
from backend.letters import service as letters
from backend.letters.markdown import render_pasted
from backend.letters.models import REPLY_STATUSES, Letter
from backend.responses import dispatch, forms, holidays, overdue, pledges, replies, timeline, tracking
from backend.responses.models import COMMITMENT_STATUSES, DEFAULT_REGION, HOLIDAY_REGIONS, RESPONSE_KINDS
from backend.security import FORM_FIELD_LIMIT, client_ip
from backend.signatures import listing
from backend.web import flash, render

router = APIRouter()

LABELS = {"state_labels": tracking.STATE_LABELS, "kind_labels": tracking.KIND_LABELS,
          "channel_labels": tracking.CHANNEL_LABELS, "commitment_labels": tracking.COMMITMENT_LABELS}


async def read_form(request: Request) -> FormData:
    """The submitted form (already read by the CSRF guard, so this is cached)."""
    return await request.form(max_part_size=FORM_FIELD_LIMIT)


FormDep = Annotated[FormData, Depends(read_form)]


# Sending -----------------------------------------------------------------------------------------------

def _send_page(request: Request, session: Session, letter: Letter, rows: list[forms.SendRow], reason: str,
               errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    tracked = tracking.get_tracked(session=session, letter=letter)
    return render(request, "responses/send.html", {
        "letter": letter, "tracked": tracked, "rows": {r.letter_recipient_id: r for r in rows},
        "again_reason": reason, "errors": errors, "today": tracking.today(),
        "version": letters.current_version(session=session, letter=letter),
        "signature_count": len(listing.get_listed(session=session, letter=letter)), **LABELS,
    }, status_code=status_code)


@router.get("/letters/{slug}/send", response_class=HTMLResponse, name="letter_send")
def send_form(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.send)
    rows = [forms.SendRow(t.link.id or 0, "" if t.dispatches else ("email" if t.recipient.email else "post"),
                          tracking.today().isoformat(), "")
            for t in tracking.get_tracked(session=session, letter=letter)]
    return _send_page(request, session, letter, rows, "", {})


@router.post("/letters/{slug}/send", name="letter_send_post")
def send_submit(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, form: FormDep,
                slug: str) -> HttpResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.send)
    tracked = tracking.get_tracked(session=session, letter=letter)
    rows = forms.send_rows(form, [t.link.id or 0 for t in tracked])
    reason = forms.text(form, "again_reason", 2000)
    errors = dispatch.send_problems(session=session, letter=letter, tracked=tracked, rows=rows, reason=reason)
    if errors:
        return _send_page(request, session, letter, rows, reason, errors, 422)
    step = forms.text(form, "step", 10)
    if step == "change":
        return _send_page(request, session, letter, rows, reason, {})
    chosen = [r for r in rows if r.channel]
    if step != "send":
        by_id = {t.link.id: t for t in tracked}
        return render(request, "responses/send_confirm.html", {
            "letter": letter, "rows": rows, "chosen": [
                (r, by_id[r.letter_recipient_id], forms.parse_date(r.sent_on) or tracking.today()) for r in chosen
            ],
            "again_reason": reason, **LABELS,
        })
    choices = [dispatch.SendChoice(r.letter_recipient_id, r.channel, forms.parse_date(r.sent_on), r.proof)
               for r in chosen]
    pdf = None
    if any(c.channel == "email" for c in choices):
        letter_id = letter.id
        session.rollback()  # nothing is written yet: the PDF is made outside the sending transaction
        with Session(request.app.state.engine, expire_on_commit=False) as reader:
            found = reader.get(Letter, letter_id)
            pdf = dispatch.sending_pdf(session=reader, settings=settings, letter=found) if found is not None else None
    try:
        made = dispatch.send(session=session, letter=letter, choices=choices, user=user, again_reason=reason,
                            ip=client_ip(request), pdf=pdf, settings=settings)
    except ServiceError as exc:
        session.rollback()
        return _send_page(request, session, letter, rows, reason, {exc.field or "recipients": exc.message}, 422)
    session.commit()
    flash(request, f"The letter has gone to {len(made)} recipient{'' if len(made) == 1 else 's'}. "
                   "Emails leave from the outbox within a minute.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/tracking", status_code=303)


# Tracking ----------------------------------------------------------------------------------------------

def _tracking_page(request: Request, session: Session, letter: Letter, perms: Permissions,
                   errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    tracked = tracking.get_tracked(session=session, letter=letter)
    responses: dict[int, list[Any]] = {}
    for response, _recipient in replies.get_responses(session=session, letter=letter):
        responses.setdefault(response.letter_recipient_id, []).append(response)
    return render(request, "responses/tracking.html", {
        "letter": letter, **letter_policy.nav(letter, perms.role), "tracked": tracked, "responses": responses,
        "entries": timeline.timeline(session=session, letter=letter, public=False),
        "commitments": pledges.get_commitments(session=session, letter=letter),
        "reply_statuses": REPLY_STATUSES, "errors": errors or {}, "today": tracking.today(),
        "can_edit": perms.record_response, **LABELS,
        "inbound_messages": inbound.for_letter(session=session, letter=letter),
    }, status_code=status_code)


@router.get("/letters/{slug}/tracking", response_class=HTMLResponse, name="letter_tracking")
def tracking_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.read)
    return _tracking_page(request, session, letter, perms)


@router.get("/letters/{slug}/tracking/{letter_recipient_id}/due", response_class=HTMLResponse, name="due_date")
def due_date_page(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                  letter_recipient_id: int) -> HTMLResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.read)
    recipient, start, due, very = overdue.explain_due_date(session=session, letter=letter,
                                                           letter_recipient_id=letter_recipient_id)
    link = next(t.link for t in tracking.get_tracked(session=session, letter=letter)
                if t.link.id == letter_recipient_id)
    return render(request, "responses/due.html", {
        "letter": letter, "recipient": recipient, "start": start, "due": due, "very": very,
        "region": tracking.REGION_LABELS.get(link.holiday_region, link.holiday_region),
    })


@router.post("/letters/{slug}/tracking/{letter_recipient_id}/status", name="reply_status_set")
def reply_status_set(request: Request, session: SessionDep, user: CurrentUser,
                     form: Annotated[forms.ReplyStatusForm, Form()], slug: str,
                     letter_recipient_id: int) -> HttpResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    try:
        overdue.set_reply_status(session=session, letter=letter, letter_recipient_id=letter_recipient_id,
                                 status=form.reply_status, user=user)
    except InvalidInput as exc:
        session.rollback()
        return _tracking_page(request, session, letter, perms, {f"status-{letter_recipient_id}": exc.message}, 422)
    session.commit()
    flash(request, "The reply status has been saved.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/tracking#recipient-{letter_recipient_id}", status_code=303)


@router.post("/letters/{slug}/tracking/{letter_recipient_id}/still-waiting", name="still_waiting")
def still_waiting(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                  letter_recipient_id: int) -> HttpResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    overdue.confirm_still_waiting(session=session, letter=letter, letter_recipient_id=letter_recipient_id, user=user)
    session.commit()
    flash(request, "Noted: you are still waiting. There will be no more reminders for this due date.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/tracking#recipient-{letter_recipient_id}", status_code=303)


# Responses ---------------------------------------------------------------------------------------------

def _tracked_one(session: Session, letter: Letter, letter_recipient_id: int) -> tracking.Tracked:
    for t in tracking.get_tracked(session=session, letter=letter):
        if t.link.id == letter_recipient_id:
            return t
    raise NotFound("That recipient is not on this letter.")


def _response_form(request: Request, letter: Letter, tracked: tracking.Tracked, form: forms.ResponseForm,
                   action: str, response: Any = None, status_code: int = 200, file_dropped: bool = False,
                   errors: dict[str, str] | None = None) -> HTMLResponse:
    return render(request, "responses/response_form.html", {
        "letter": letter, "tracked": tracked, "values": form.values(), "is_public": form.public,
        "errors": errors or {}, "action": action, "response": response, "kinds": RESPONSE_KINDS,
        "file_dropped": file_dropped, "today": tracking.today(), **LABELS,
    }, status_code=status_code)


async def _read_upload(value: UploadFile | None) -> replies.Upload | None:
    """The uploaded file, read at most one byte past the limit so a huge file is refused cheaply."""
    if value is None or not value.filename:
        return None
    data = await value.read(replies.MAX_ATTACHMENT + 1)
    return replies.Upload(value.filename, data) if data else None


@router.get("/letters/{slug}/responses/new", response_class=HTMLResponse, name="response_new")
def response_new(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                 recipient: Annotated[int, Query()]) -> HTMLResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    tracked = _tracked_one(session, letter, recipient)
    return _response_form(request, letter, tracked, forms.ResponseForm.empty(),
                          f"/letters/{letter.slug}/responses/new?recipient={recipient}")


@router.post("/letters/{slug}/responses/new", name="response_create")
async def response_create(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                          form: Annotated[forms.ResponseForm, Form()], slug: str,
                          recipient: Annotated[int, Query()],
                          attachment: Annotated[UploadFile | None, File()] = None) -> HttpResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    tracked = _tracked_one(session, letter, recipient)
    upload = await _read_upload(attachment)
    try:
        response = replies.record_response(session=session, letter=letter, letter_recipient_id=recipient,
                                           data=form.data(), user=user, attachment=upload,
                                           settings=settings)
    except replies.ResponseErrors as exc:
        session.rollback()
        return _response_form(request, letter, tracked, form,
                              f"/letters/{letter.slug}/responses/new?recipient={recipient}", status_code=422,
                              file_dropped=upload is not None, errors=exc.errors | form.errors())
    session.commit()
    flash(request, f"The {tracking.KIND_LABELS[response.kind].lower()} from "
                   f"{replies.author_label(response, tracked.recipient)} has been recorded.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/responses/{response.id}", status_code=303)


def _response_page(request: Request, session: Session, letter: Letter, perms: Permissions, response_id: int,
                   show_revisions: bool = False, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    response, link = replies.get_response(session=session, letter=letter, response_id=response_id)
    tracked = _tracked_one(session, letter, link.id or 0)
    commitments = [c for c in pledges.get_commitments(session=session, letter=letter) if c[1].id == response.id]
    revisions = replies.get_revisions(session=session, response_id=response.id) if show_revisions else []  # type: ignore[arg-type]
    return render(request, "responses/response.html", {
        "letter": letter, "role": perms.role, "perms": perms, "response": response, "tracked": tracked,
        "body_html": render_pasted(response.body),
        "author": replies.author_line(response, tracked.recipient),
        "author_label": replies.author_label(response, tracked.recipient),
        "own_author": replies.has_own_author(response),
        "commitments": commitments, "revisions": revisions, "show_revisions": show_revisions,
        "revision_count": len(replies.get_revisions(session=session, response_id=response.id)),  # type: ignore[arg-type]
        "can_edit": perms.record_response, "statuses": COMMITMENT_STATUSES, "errors": errors or {},
        "values": values or {}, "today": tracking.today(), **LABELS,
    }, status_code=status_code)


@router.get("/letters/{slug}/responses/{response_id}", response_class=HTMLResponse, name="response")
def response_page(request: Request, session: SessionDep, user: CurrentUser, slug: str, response_id: int,
                  revisions: Annotated[str, Query()] = "") -> HTMLResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.read)
    return _response_page(request, session, letter, perms, response_id, show_revisions=revisions == "1")


@router.get("/letters/{slug}/responses/{response_id}/edit", response_class=HTMLResponse, name="response_edit")
def response_edit(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                  response_id: int) -> HTMLResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    response, link = replies.get_response(session=session, letter=letter, response_id=response_id)
    return _response_form(request, letter, _tracked_one(session, letter, link.id or 0),
                          forms.ResponseForm.of_response(response),
                          f"/letters/{letter.slug}/responses/{response.id}/edit", response=response)


@router.post("/letters/{slug}/responses/{response_id}/edit", name="response_update")
def response_update(request: Request, session: SessionDep, user: CurrentUser,
                    form: Annotated[forms.ResponseForm, Form()], slug: str, response_id: int) -> HttpResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    response, link = replies.get_response(session=session, letter=letter, response_id=response_id)
    try:
        replies.update_response(session=session, letter=letter, response_id=response_id, data=form.data(), user=user)
    except replies.ResponseErrors as exc:
        session.rollback()
        return _response_form(request, letter, _tracked_one(session, letter, link.id or 0), form,
                              f"/letters/{letter.slug}/responses/{response_id}/edit", response=response,
                              status_code=422, errors=exc.errors | form.errors())
    session.commit()
    flash(request, "The response has been saved. The earlier text is kept as a revision.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/responses/{response_id}", status_code=303)


@router.get("/letters/{slug}/responses/{response_id}/attachment", name="response_attachment")
def response_attachment(session: SessionDep, settings: SettingsDep, user: OptionalUser, slug: str,
                        response_id: int) -> HttpResponse:
    """The PDF sent with a response (who may have it: replies.attachment_file)."""
    found = replies.attachment_file(session=session, slug=slug, response_id=response_id, user=user, settings=settings)
    headers = {"Cache-Control": "public, max-age=3600" if found.public else "private, no-store"}
    return FileResponse(found.path, media_type="application/pdf", filename=found.name, headers=headers)


# Commitments -------------------------------------------------------------------------------------------

@router.post("/letters/{slug}/responses/{response_id}/commitments", name="commitment_create")
def commitment_create(request: Request, session: SessionDep, user: CurrentUser,
                      form: Annotated[forms.CommitmentForm, Form()], slug: str, response_id: int) -> HttpResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    values = {"text": form.text, "due_on": form.due_on}
    problem = forms.date_error(values["due_on"], "the due date")
    try:
        if problem:
            raise InvalidInput(problem, field="due_on")
        pledges.add_commitment(session=session, letter=letter, response_id=response_id, text=values["text"],
                               due_on=forms.parse_date(values["due_on"]), user=user)
    except InvalidInput as exc:
        session.rollback()
        return _response_page(request, session, letter, perms, response_id,
                              errors={f"new-{exc.field or 'text'}": exc.message},
                              values={f"new-{k}": v for k, v in values.items()}, status_code=422)
    session.commit()
    flash(request, "The commitment has been added to the tracker.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/responses/{response_id}#commitments", status_code=303)


@router.post("/letters/{slug}/commitments/{commitment_id}", name="commitment_update")
def commitment_update(request: Request, session: SessionDep, user: CurrentUser, form: FormDep, slug: str,
                      commitment_id: int) -> HttpResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    commitment = pledges.get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    # The page holds one form per commitment, so the fields carry the commitment's prefix.
    values = {name: forms.text(form, f"c{commitment_id}-{name}", 4000) for name in ("status", "note", "link",
                                                                                    "noted_on")}
    problem = forms.date_error(values["noted_on"], "the date of the note")
    try:
        if problem:
            raise InvalidInput(problem, field="noted_on")
        day = forms.parse_date(values["noted_on"])
        pledges.update_commitment(session=session, letter=letter, commitment_id=commitment_id,
                                  status=values["status"], note=values["note"], link=values["link"],
                                  noted_on=day, user=user)
    except InvalidInput as exc:
        session.rollback()
        return _response_page(request, session, letter, perms, commitment.response_id or 0,
                              errors={f"c{commitment_id}-{exc.field or 'note'}": exc.message},
                              values={f"c{commitment_id}-{k}": v for k, v in values.items()}, status_code=422)
    session.commit()
    flash(request, "The commitment has been updated.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/responses/{commitment.response_id}#commitment-{commitment_id}",
                            status_code=303)


# Holidays (site admin) ---------------------------------------------------------------------------------

def _holidays_page(request: Request, session: Session, region: str, year: int, values: dict[str, str] | None = None,
                   errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "responses/holidays.html", {
        "region": region, "year": year, "regions": tracking.REGION_LABELS,
        "holidays": holidays.get_holidays(session=session, region=region, year=year),
        "values": values or {"region": region}, "errors": errors or {},
    }, status_code=status_code)


def _region_year(region: str, year: str) -> tuple[str, int]:
    region = region if region in HOLIDAY_REGIONS else DEFAULT_REGION
    return region, int(year) if year.isdigit() and 1990 <= int(year) <= 2100 else tracking.today().year


def _after_holiday_change(request: Request, message: str, changed: int, region: str, year: int) -> HttpResponse:
    flash(request, f"{message} {changed} due date{' has' if changed == 1 else 's have'} changed.", "success")
    return RedirectResponse(f"/admin/holidays?region={region}&year={year}", status_code=303)


@router.get("/admin/holidays", response_class=HTMLResponse, name="admin_holidays")
def holidays_page(request: Request, session: SessionDep, admin: AdminUser, region: str = "",
                  year: str = "") -> HTMLResponse:
    chosen_region, chosen_year = _region_year(region, year)
    return _holidays_page(request, session, chosen_region, chosen_year)


@router.post("/admin/holidays", name="admin_holiday_create")
def holiday_create(request: Request, session: SessionDep, admin: AdminUser,
                   form: Annotated[forms.HolidayForm, Form()]) -> HttpResponse:
    values = form.values()
    day = forms.parse_date(values["day"])
    region, year = _region_year(values["region"], str(day.year) if day else "")
    try:
        problem = forms.date_error(values["day"], "the date of the holiday")
        if problem:
            raise InvalidInput(problem, field="day")
        holiday, changed = holidays.create_holiday(session=session, region=values["region"], day=day,
                                                   description=values["description"], admin=admin,
                                                   ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _holidays_page(request, session, region, year, values, {exc.field or "day": exc.message}, 422)
    session.commit()
    return _after_holiday_change(request, f"{holiday.description} has been added.", changed, region, year)


@router.post("/admin/holidays/fill", name="admin_holidays_fill")
def holidays_fill(request: Request, session: SessionDep, admin: AdminUser,
                  form: Annotated[forms.HolidayFillForm, Form()]) -> HttpResponse:
    region, year = _region_year(form.region, form.year)
    added, changed = holidays.fill_year(session=session, region=region, year=year, admin=admin, ip=client_ip(request))
    session.commit()
    return _after_holiday_change(request, f"{added} holiday{' was' if added == 1 else 's were'} added for {year} "
                                          f"({tracking.REGION_LABELS[region]}).", changed, region, year)


@router.post("/admin/holidays/{holiday_id}", name="admin_holiday_update")
def holiday_update(request: Request, session: SessionDep, admin: AdminUser,
                   form: Annotated[forms.HolidayDescriptionForm, Form()], holiday_id: int) -> HttpResponse:
    holiday = holidays.get_holiday(session=session, holiday_id=holiday_id)
    region, year = holiday.region, holiday.day.year
    description = form.description
    try:
        _, changed = holidays.update_holiday(session=session, holiday_id=holiday_id, description=description,
                                             admin=admin, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _holidays_page(request, session, region, year, {f"h{holiday_id}": description},
                              {f"h{holiday_id}": exc.message}, 422)
    session.commit()
    return _after_holiday_change(request, "The description has been saved.", changed, region, year)


@router.post("/admin/holidays/{holiday_id}/delete", name="admin_holiday_delete")
def holiday_delete(request: Request, session: SessionDep, admin: AdminUser, holiday_id: int) -> HttpResponse:
    holiday, changed = holidays.delete_holiday(session=session, holiday_id=holiday_id, admin=admin,
                                               ip=client_ip(request))
    session.commit()
    return _after_holiday_change(request, f"{holiday.description} ({holiday.day.strftime('%-d %B %Y')}) has been "
                                          "removed.", changed, holiday.region, holiday.day.year)

"""Letter pages for the coalition: the recipients directory, the letter form, overview, history, diff, PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from backend.accounts.deps import CurrentUser
from backend.accounts.models import Organisation, User
from backend.accounts.service import organisations_of
from backend.campaigns import service as campaigns
from backend.campaigns.deps import load_campaign
from backend.campaigns.models import Campaign
from backend.campaigns.policy import Action, require
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import FormDep, SettingsDep
from backend.errors import Conflict, InvalidInput, NotFound
from backend.letters import diff, drafting, service
from backend.letters import policy as letter_policy
from backend.letters.forms import LetterForm, LetterFormInput, RecipientCreateForm, RecipientForm
from backend.letters.markdown import render_markdown
from backend.letters.models import Letter, LetterVersion
from backend.letters.rendering import render_letter
from backend.publishing import documents
from backend.security import client_ip
from backend.signatures import progress as signatory_progress
from backend.web import flash, render, run_waiting

router = APIRouter()

RECIPIENT_FIELDS = ("name", "position", "recipient_organisation", "email", "reply_target_days",
                    "very_overdue_days")


def load_letter(*, session: Session, slug: str, user: User, action: Action) -> tuple[Letter, Campaign, str]:
    """The letter, its campaign and the user's role: NotFound, or Forbidden when the role does not allow it."""
    letter = service.get_by_slug(session=session, slug=slug)
    if letter is None:
        raise NotFound("There is no letter at this address.")
    campaign = campaigns.get(session=session, campaign_id=letter.campaign_id)
    assert campaign is not None
    role = require(session=session, campaign_id=campaign.id, user=user, action=action)  # type: ignore[arg-type]
    return letter, campaign, role



def org_ids(session: Session, user: User) -> list[int]:
    return [o.id for o in organisations_of(session=session, user_id=user.id) if o.id is not None]  # type: ignore[arg-type]


# The recipients directory ---------------------------------------------------------------------------

def _directory_page(request: Request, session: Session, user: User, values: dict[str, str],
                    errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    organisations = organisations_of(session=session, user_id=user.id)  # type: ignore[arg-type]
    names = {o.id: o.name for o in organisations}
    recipients = service.get_directory(session=session, organisation_ids=list(names))  # type: ignore[arg-type]
    return render(request, "letters/recipients.html", {
        "recipients": recipients, "organisations": organisations, "org_names": names,
        "values": values, "errors": errors,
    }, status_code=status_code)


@router.get("/recipients", response_class=HTMLResponse, name="recipients")
def recipients_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    return _directory_page(request, session, user, {"reply_target_days": "20", "very_overdue_days": "40"}, {})


@router.post("/recipients", name="recipient_create")
def recipient_create(request: Request, session: SessionDep, user: CurrentUser,
                     form: Annotated[RecipientCreateForm, Form()]) -> Response:
    values = form.values()
    own = org_ids(session, user)
    chosen = int(values["organisation"]) if values["organisation"].isdigit() else (own[0] if len(own) == 1 else 0)
    try:
        if chosen not in own:
            raise InvalidInput("Choose which of your organisations keeps this recipient.", field="organisation")
        recipient = service.create_recipient(
            session=session, organisation_id=chosen, **{k: values[k] for k in RECIPIENT_FIELDS})
    except InvalidInput as exc:
        session.rollback()
        return _directory_page(request, session, user, values, {exc.field or "name": exc.message}, 422)
    session.commit()
    flash(request, f"{recipient.name} is in the directory.", "success")
    return RedirectResponse("/recipients", status_code=303)


@router.get("/recipients/{recipient_id}/edit", response_class=HTMLResponse, name="recipient_edit")
def recipient_edit(request: Request, session: SessionDep, user: CurrentUser, recipient_id: int) -> HTMLResponse:
    recipient = service.get_recipient(session=session, recipient_id=recipient_id,
                                      organisation_ids=org_ids(session, user))
    values = {k: "" if getattr(recipient, k) is None else str(getattr(recipient, k)) for k in RECIPIENT_FIELDS}
    return render(request, "letters/recipient_edit.html", {"recipient": recipient, "values": values, "errors": {}})


@router.post("/recipients/{recipient_id}/edit", name="recipient_update")
def recipient_update(request: Request, session: SessionDep, user: CurrentUser,
                     form: Annotated[RecipientForm, Form()], recipient_id: int) -> Response:
    recipient = service.get_recipient(session=session, recipient_id=recipient_id,
                                      organisation_ids=org_ids(session, user))
    values = form.values()
    try:
        service.update_recipient(session=session, recipient=recipient, **values)
    except InvalidInput as exc:
        session.rollback()
        return render(request, "letters/recipient_edit.html",
                      {"recipient": recipient, "values": values, "errors": {exc.field or "name": exc.message}},
                      status_code=422)
    session.commit()
    flash(request, f"{recipient.name}: details saved.", "success")
    return RedirectResponse("/recipients", status_code=303)


# The letter form -------------------------------------------------------------------------------------

def _preview(session: Session, campaign: Campaign, letter: Letter | None, form: LetterForm) -> Markup:
    """The typed text rendered as the letter, without saving anything."""
    shown = letter or Letter(campaign_id=campaign.id, title=form.title or "Untitled letter", slug="preview")  # type: ignore[arg-type]
    t = form.text().normalised()
    version = LetterVersion(letter_id=shown.id or 0, number=0, salutation=t.salutation, subject=t.subject,
                            body=t.body, sign_off=t.sign_off, content_hash="")
    return render_letter(session=session, letter=shown, version=version)


def _form_page(request: Request, session: Session, *, campaign: Campaign, letter: Letter | None, role: str,
               form: LetterForm, user: User, errors: dict[str, str] | None = None, conflict: str | None = None,
               preview: Markup | None = None, status_code: int = 200) -> HTMLResponse:
    directory = drafting.directory_for(session=session, campaign=campaign, user=user, letter=letter)
    chosen = [r for r in directory if r.id in form.recipient_ids]
    latest = service.current_version(session=session, letter=letter) if letter else None
    base = session.get(LetterVersion, form.base_version_id) if form.base_version_id else None
    return render(request, "letters/form.html", {
        "campaign": campaign, "letter": letter, "role": role, "form": form, "errors": errors or {},
        "directory": directory, "suggested_salutation": service.suggest_salutation(chosen),
        "conflict": conflict, "latest": latest, "base": base, "preview": preview,
        "can_set_embargo": drafting.can_set_embargo(role),
        "asked_again": signatory_progress.asked_again_on_change(session=session, letter=letter) if letter else 0,
    }, status_code=status_code)


def _submit(request: Request, session: Session, *, campaign: Campaign, letter: Letter | None, role: str,
            form: LetterForm, user: User) -> Response:
    """Previews, or saves the whole form; on a problem shows the form again with everything typed."""
    if not form.salutation.strip():
        chosen = [r for r in drafting.directory_for(session=session, campaign=campaign, user=user, letter=letter)
                  if r.id in form.recipient_ids]
        form.salutation = service.suggest_salutation(chosen + [
            service.Recipient(name=r.name, position=r.position) for r in form.new_recipients])
    if form.action == "preview":
        return _form_page(request, session, campaign=campaign, letter=letter, role=role, form=form, user=user,
                          preview=_preview(session, campaign, letter, form))
    draft = form.to_draft()
    errors = drafting.problems(session=session, campaign=campaign, letter=letter, draft=draft, user=user)
    if errors:
        return _form_page(request, session, campaign=campaign, letter=letter, role=role, form=form, user=user,
                          errors=errors, status_code=422)
    try:
        target, version = drafting.save(session=session, campaign=campaign, letter=letter, draft=draft,
                                        title=form.title, author=user, base_version_id=form.base_version_id,
                                        ip=client_ip(request), settings=request.app.state.settings)
    except Conflict as exc:
        session.rollback()
        return _form_page(request, session, campaign=campaign, letter=letter, role=role, form=form, user=user,
                          conflict=exc.message, status_code=409)
    except InvalidInput as exc:
        session.rollback()
        return _form_page(request, session, campaign=campaign, letter=letter, role=role, form=form, user=user,
                          errors={exc.field or "body": exc.message}, status_code=422)
    session.commit()
    flash(request, f"Saved as version {version.number}." if version
          else "Saved. The text did not change, so there is no new version.", "success")
    return RedirectResponse(f"/letters/{target.slug}/overview", status_code=303)


@router.get("/campaigns/{slug}/letters/new", response_class=HTMLResponse, name="letter_new")
def letter_new(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    campaign, role = load_campaign(session=session, slug=slug, user=user, action=Action.edit_text)
    return _form_page(request, session, campaign=campaign, letter=None, role=role, form=LetterForm(), user=user)


@router.post("/campaigns/{slug}/letters/new", name="letter_create")
def letter_create(request: Request, session: SessionDep, user: CurrentUser, form: FormDep, slug: str) -> Response:
    campaign, role = load_campaign(session=session, slug=slug, user=user, action=Action.edit_text)
    return _submit(request, session, campaign=campaign, letter=None, role=role,
                   form=LetterForm.from_input(LetterFormInput.from_form(form)), user=user)


@router.post("/campaigns/{slug}/letters/preview", response_class=HTMLResponse, name="letter_new_preview")
def letter_new_preview(request: Request, session: SessionDep, user: CurrentUser, form: FormDep,
                       slug: str) -> HTMLResponse:
    campaign, _ = load_campaign(session=session, slug=slug, user=user, action=Action.edit_text)
    return HTMLResponse(_preview(session, campaign, None, LetterForm.from_input(LetterFormInput.from_form(form))))


@router.get("/letters/{slug}/edit", response_class=HTMLResponse, name="letter_edit")
def letter_edit(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    letter, campaign, role = load_letter(session=session, slug=slug, user=user, action=Action.edit_text)
    service.check_editable(letter)
    return _form_page(request, session, campaign=campaign, letter=letter, role=role,
                      form=LetterForm.from_letter(session=session, letter=letter), user=user)


@router.post("/letters/{slug}/edit", name="letter_update")
def letter_update(request: Request, session: SessionDep, user: CurrentUser, form: FormDep, slug: str) -> Response:
    letter, campaign, role = load_letter(session=session, slug=slug, user=user, action=Action.edit_text)
    return _submit(request, session, campaign=campaign, letter=letter, role=role,
                   form=LetterForm.from_input(LetterFormInput.from_form(form)), user=user)


@router.post("/letters/{slug}/preview", response_class=HTMLResponse, name="letter_preview")
def letter_preview(request: Request, session: SessionDep, user: CurrentUser, form: FormDep,
                   slug: str) -> HTMLResponse:
    letter, campaign, _ = load_letter(session=session, slug=slug, user=user, action=Action.edit_text)
    return HTMLResponse(_preview(session, campaign, letter, LetterForm.from_input(LetterFormInput.from_form(form))))


# Reading: overview, history, one version, diff, PDF ------------------------------------------------------

@router.get("/letters/{slug}/overview", response_class=HTMLResponse, name="letter")
def letter_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    letter, campaign, role = load_letter(session=session, slug=slug, user=user, action=Action.read)
    version = service.current_version(session=session, letter=letter)
    author = session.get(User, version.author_id) if version and version.author_id else None
    return render(request, "letters/show.html", {
        "letter": letter, "campaign": campaign, "version": version, "author": author,
        "lead": session.get(Organisation, campaign.lead_organisation_id),
        "recipients": service.get_recipients(session=session, letter_id=letter.id),  # type: ignore[arg-type]
        "quotes": service.get_quotes(session=session, letter_id=letter.id),  # type: ignore[arg-type]
        "press_contact": service.get_press_contact(session=session, letter_id=letter.id),  # type: ignore[arg-type]
        "tags": service.get_tags(session=session, letter_id=letter.id),  # type: ignore[arg-type]
        "notes_html": _markdown(letter.notes_to_editors),
        "preview": render_letter(session=session, letter=letter, version=version) if version else None,
        "editable": letter_policy.text_editable(letter), **letter_policy.nav(letter, role),
        "progress": signatory_progress.get(session=session, letter=letter),
    })


def _markdown(source: str) -> Markup:
    return render_markdown(source) if source.strip() else Markup("")


def _users(session: Session, versions: list[LetterVersion]) -> dict[int, User]:
    ids = {v.author_id for v in versions if v.author_id is not None}
    return {i: u for i in ids if (u := session.get(User, i)) is not None}


@router.get("/letters/{slug}/versions", response_class=HTMLResponse, name="letter_versions")
def versions_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    letter, campaign, role = load_letter(session=session, slug=slug, user=user, action=Action.read)
    versions = service.get_versions(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    return render(request, "letters/versions.html", {
        "letter": letter, "campaign": campaign, "versions": versions,
        "authors": _users(session, versions), **letter_policy.nav(letter, role),
    })


def _version(session: Session, letter: Letter, number: int) -> LetterVersion:
    version = service.get_version(session=session, letter_id=letter.id, number=number)  # type: ignore[arg-type]
    if version is None:
        raise NotFound(f"This letter has no version {number}.")
    return version


@router.get("/letters/{slug}/versions/{number}", response_class=HTMLResponse, name="letter_version")
def version_page(request: Request, session: SessionDep, user: CurrentUser, slug: str, number: int) -> HTMLResponse:
    letter, campaign, role = load_letter(session=session, slug=slug, user=user, action=Action.read)
    version = _version(session, letter, number)
    return render(request, "letters/version.html", {
        "letter": letter, "campaign": campaign, "role": role, "version": version,
        "author": _users(session, [version]).get(version.author_id or 0),
        "is_current": version.id == letter.current_version_id,
        "preview": render_letter(session=session, letter=letter, version=version),
    })


@router.get("/letters/{slug}/diff", response_class=HTMLResponse, name="letter_diff")
def diff_page(request: Request, session: SessionDep, user: CurrentUser, slug: str,
              from_: Annotated[int | None, Query(alias="from")] = None, to: int | None = None) -> HTMLResponse:
    letter, campaign, role = load_letter(session=session, slug=slug, user=user, action=Action.read)
    versions = service.get_versions(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    if not versions:
        raise NotFound("This letter has no saved text yet, so there is nothing to compare.")
    newest = versions[0].number
    to_number = to if to is not None else newest
    old_number = from_ if from_ is not None else max(to_number - 1, 1)
    old, new = _version(session, letter, old_number), _version(session, letter, to_number)
    parts = diff.diff_versions(old, new)
    return render(request, "letters/diff.html", {
        "letter": letter, "campaign": campaign, "role": role, "old": old, "new": new, "parts": parts,
        "versions": versions, "identical": not any(p.changed for p in parts),
    })


@router.get("/letters/{slug}/pdf", name="letter_pdf")
async def pdf_download(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, slug: str
                       ) -> Response:
    return await run_waiting(request, _pdf_download, request, session, settings, user, slug)


def _pdf_download(request: Request, session: Session, settings: Settings, user: User, slug: str) -> Response:
    letter, _, _ = load_letter(session=session, slug=slug, user=user, action=Action.read)
    version = service.current_version(session=session, letter=letter)
    if version is None:
        raise NotFound("This letter has no saved text yet, so there is no PDF.")
    filename = f"{letter.slug}-v{version.number}.pdf"
    # The same rendering as the PDF sent to the recipients, with the signatories listed now: built by the worker
    # (the last one is served while nothing in it has changed).
    try:
        path = documents.staff_pdf(engine=request.app.state.engine, session=session, letter=letter, settings=settings)
    except documents.DocumentsNotReady as exc:
        raise HTTPException(503, exc.message, headers={"Retry-After": str(exc.retry_after)}) from exc
    return FileResponse(path, media_type="application/pdf", filename=filename,
                        headers={"Cache-Control": "private, no-store"})

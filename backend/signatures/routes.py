"""Signing pages (invite links, the open sign-on link, emailed confirmation and management links) and the
coalition's signatories dashboard. Routes are thin: the rules live in `service`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from backend import ratelimit, text, web
from backend.accounts.deps import CurrentUser
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.errors import InvalidInput, NotFound, ServiceError
from backend.letters import diff
from backend.letters import policy as letter_policy
from backend.letters import service as letters
from backend.letters.models import Letter, LetterVersion
from backend.publishing import pagecache
from backend.security import client_ip
from backend.signatures import (
    access,
    confirming,
    dashboard,
    flows,
    identity,
    invites,
    limits,
    logos,
    managing,
    moderation,
    opening,
    progress,
    reinvite,
    rules,
    signing,
    tokens,
)
from backend.signatures.access import SigningLetter, SigningText, SignOnLetter
from backend.signatures.forms import (
    ConfirmForm,
    CorrectionForm,
    DeclineForm,
    InviteForm,
    ListingForm,
    OrderForm,
    SignForm,
    SigningSettingsForm,
    StatusForm,
    WithdrawForm,
)
from backend.signatures.models import Invite, Signature
from backend.web import flash, path_for, render

router = APIRouter()  # signers' pages: signing, and the emailed links
coalition_router = APIRouter()  # the coalition's dashboard of signatories

# Per client IP, from the settings RATE_LIMIT_SIGN, RATE_LIMIT_SIGN_CONFIRM and RATE_LIMIT_SIGN_LINK_PAGE.
LIMIT_SETTINGS = {"sign": "rate_limit_sign", "confirm": "rate_limit_sign_confirm",
                  "token-page": "rate_limit_sign_link_page"}

LogoUpload = Annotated[UploadFile | None, File()]


def _limit(request: Request, session: Session, settings: Settings, scope: str) -> None:
    limit = str(getattr(settings, LIMIT_SETTINGS[scope]))
    ratelimit.enforce(request=request, session=session, scope=f"signatures:{scope}", key=client_ip(request),
                      limit=limit)


def _read_upload(upload: UploadFile | None, limit: int = logos.MAX_LOGO_BYTES) -> bytes | None:
    """The uploaded file's bytes (at most one byte over the limit, so a huge file is refused cheaply).

    Routes are sync (their database work must not block the event loop), so the spooled file is read directly.
    """
    if upload is None or not upload.filename:
        return None
    upload.file.seek(0)
    data = upload.file.read(limit + 1)
    return data or None


# Signing ---------------------------------------------------------------------------------------------

def _sign_context(
    *, session: Session, letter: SigningLetter, values: dict[str, Any], errors: dict[str, str], action: str,
    invite: Invite | None = None, token: str | None = None,
) -> dict[str, Any]:
    return {
        "letter": letter, "text": access.signing_text(session=session, letter=letter),
        "signatories": access.signed_so_far(session=session, letter=letter)
        if letter.show_signatories_while_open else (),
        "values": values, "errors": errors, "action": action, "invite": invite, "token": token,
    }


OPEN_LINK_OFF = "This letter is not open for signatures through a public link."


def _closed_page(request: Request, session: Session, letter: Letter) -> HTMLResponse:
    """A signing link of a letter that takes no more signatures: sent, published, or closed for now."""
    notice = progress.closed_notice(session=session, letter=letter)
    return render(request, "signatures/closed.html", {"letter": letter, "notice": notice})


@router.get("/letters/{slug}/sign", response_class=HTMLResponse, name="sign_open")
def sign_open_page(request: Request, session: SessionDep, slug: str) -> HTMLResponse:
    letter = access.get_sign_on_letter(session=session, slug=slug)
    if access.open_link_closed(letter=letter):
        return _closed_page(request, session, access.get_letter(session=session, slug=slug))
    if not access.open_link_works(letter=letter):
        raise NotFound(OPEN_LINK_OFF)
    def context() -> dict[str, Any]:
        return _sign_context(session=session, letter=letter, values={"kind": "organisation"}, errors={},
                             action=path_for(request, "sign_open_submit", slug=letter.slug))

    if web.is_anonymous_visit(request):
        # Rendered once for what the page is made of (the letter's sign-on settings and public revision).
        key = pagecache.key_by_content(letter.id, "sign-page", (letter,))  # its repr names every field
        page = pagecache.get_or_render(key, lambda: web.render_shared(request, "signatures/sign.html", context()))
        response = web.answer_shared(request, page)
    else:
        response = render(request, "signatures/sign.html", context())
    response.headers["Cache-Control"] = "no-store"  # it carries this visitor's CSRF token
    return response


def signed_redirect(request: Request, *, slug: str, contact_email: str) -> RedirectResponse:
    """After a good submission: to the "check your email" page, with the message flashed."""
    flash(request, f"Nearly done: we have sent a confirmation link to {contact_email}.", "success")
    return RedirectResponse(f"/letters/{slug}/sign/sent", status_code=303)


def _submit(
    request: Request, session: Session, settings: Settings, letter: SigningLetter, invite: Invite | None,
    token: str | None, form: SignForm, logo: UploadFile | None, action: str,
) -> Response:
    try:
        signature = signing.sign(session=session, settings=settings, letter=letter,
                                 data=form.to_input(_read_upload(logo)),
                                 invite=invite, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        page_letter = access.get_letter(session=session, slug=letter.slug)  # the page shows the whole letter
        ctx = _sign_context(session=session, letter=page_letter, values=form.values(),
                            errors=rules.errors_of(exc), action=action, invite=invite, token=token)
        return render(request, "signatures/sign.html", ctx, status_code=422)
    session.commit()
    return signed_redirect(request, slug=letter.slug, contact_email=signature.contact_email)


@router.post("/letters/{slug}/sign", name="sign_open_submit")
def sign_open_submit(request: Request, session: SessionDep, settings: SettingsDep, slug: str,
                     form: Annotated[SignForm, Form()],
                     logo: LogoUpload = None) -> Response:
    _limit(request, session, settings, "sign")  # counted before anything else is done for it
    letter = access.get_sign_on_letter(session=session, slug=slug)
    if not access.open_link_works(letter=letter):
        raise NotFound(OPEN_LINK_OFF)
    action = path_for(request, "sign_open_submit", slug=letter.slug)
    return _submit(request, session, settings, letter, None, None, form, logo, action)


@router.get("/letters/{slug}/sign/sent", response_class=HTMLResponse, name="sign_sent")
def sign_sent(request: Request, session: SessionDep, slug: str) -> HTMLResponse:
    # Anyone may open this address: it names the letter only when its title is public already, and answers
    # the same for a letter that does not exist.
    letter = letters.get_by_slug(session=session, slug=slug)
    title = letter.title if letter is not None and access.title_is_public(letter=letter) else None
    return render(request, "signatures/sent.html", {"title": title})


@router.get("/sign/{token}", response_class=HTMLResponse, name="sign_invite")
def sign_invite_page(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> HTMLResponse:
    _limit(request, session, settings, "token-page")
    invite = invites.get_invite_by_token(session=session, token=token)
    letter = session.get(Letter, invite.letter_id)
    assert letter is not None
    if not access.taking_signatures(letter=letter):
        return _closed_page(request, session, letter)
    invites.mark_opened(session=session, invite=invite)
    values = {"kind": "organisation", "display_name": invite.organisation_name, "contact_email": invite.email}
    ctx = _sign_context(session=session, letter=letter, values=values, errors={},
                        action=path_for(request, "sign_invite_submit", token=token),
                        invite=invite, token=token)
    return render(request, "signatures/sign.html", ctx)


@router.post("/sign/{token}", name="sign_invite_submit")
def sign_invite_submit(request: Request, session: SessionDep, settings: SettingsDep, token: str,
                       form: Annotated[SignForm, Form()],
                       logo: LogoUpload = None) -> Response:
    _limit(request, session, settings, "sign")
    invite = invites.get_invite_by_token(session=session, token=token)
    letter = session.get(Letter, invite.letter_id)
    assert letter is not None
    return _submit(request, session, settings, letter, invite, token, form, logo,
                   path_for(request, "sign_invite_submit", token=token))


@router.post("/sign/{token}/decline", name="sign_decline")
def sign_decline(request: Request, session: SessionDep, settings: SettingsDep, token: str,
                 form: Annotated[DeclineForm, Form()]) -> Response:
    _limit(request, session, settings, "sign")
    invite = invites.get_invite_by_token(session=session, token=token)
    letter = session.get(Letter, invite.letter_id)
    assert letter is not None
    flows.decline(session=session, invite=invite, reason=form.reason, ip=client_ip(request))
    session.commit()
    return render(request, "signatures/declined.html", {"letter": letter, "organisation": invite.organisation_name})


# Emailed links: confirm, approve a new text, withdraw, manage ---------------------------------------

def _token_page(request: Request, session: Session, token: str, *, errors: dict[str, str] | None = None,
                status_code: int = 200, mode: str | None = None) -> HTMLResponse:
    link = confirming.read_link(session=session, token=token)
    if link.purpose == "confirm" and link.letter.status == "open":  # the common case, read as plain columns
        letter: Any = link.letter
        signature: Any = link.signature
    else:
        _row, signature, letter, _version = tokens.get_by_token(session=session, token=token,
                                                                purposes=("confirm", "reconfirm"))
    shown = access.signing_text(session=session, letter=letter)
    if link.purpose == "confirm" and link.letter.status == "open" and not errors and web.is_anonymous_visit(request):
        return _confirm_page_for_everyone(request, letter, signature, shown, token)
    ctx: dict[str, Any] = {"letter": letter, "text": shown, "signature": signature, "token": token,
                           "errors": errors or {}}
    if link.purpose == "confirm":
        return render(request, "signatures/confirm.html", ctx, status_code=status_code)
    ctx["diff_html"] = diff.to_html(confirming.diff_for(session=session, signature=signature, letter=letter))
    ctx["mode"] = mode or "approve"
    return render(request, "signatures/reconfirm.html", ctx, status_code=status_code)


def _confirm_page_for_everyone(request: Request, letter: SignOnLetter, signature: confirming.Signer,
                               text: SigningText, token: str) -> HTMLResponse:
    """A confirmation page rendered once for every signer of this kind (with or without a role) of the text
    shown, kept by what it shows; the signer's names, link and CSRF token go in its stand-ins' places."""
    has_role = bool(signature.signer_role)
    kind = f"confirm-page-{signature.kind}-{'role' if has_role else 'no-role'}"
    key = pagecache.key_by_content(letter.id, kind, (letter.title, hash(text)))
    own = {"display_name": signature.display_name, "signer_name": signature.signer_name,
           "signer_role": signature.signer_role or "", "token": token}
    page = pagecache.get_or_render(key, lambda: web.render_shared(request, "signatures/confirm.html", {
        "letter": letter, "text": text, "errors": {}, "token": web.stand_in("token"),
        "signature": SimpleNamespace(kind=signature.kind, display_name=web.stand_in("display_name"),
                                     signer_name=web.stand_in("signer_name"),
                                     signer_role=web.stand_in("signer_role") if has_role else None)}))
    return web.answer_shared(request, page, own)  # no-store, as every answer at a token address


@router.get("/confirm/{token}", response_class=HTMLResponse, name="confirm_page")
def confirm_page(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> HTMLResponse:
    # Mail scanners fetch links: this page only shows a button; the POST below does the work.
    _limit(request, session, settings, "token-page")
    return _token_page(request, session, token)


@router.post("/confirm/{token}", name="confirm_submit")
def confirm_submit(request: Request, session: SessionDep, settings: SettingsDep, token: str,
                   form: Annotated[ConfirmForm, Form()]) -> Response:
    _limit(request, session, settings, "confirm")
    try:
        approved = confirming.approve_text(session=session, settings=settings, token=token,
                                           version_id=form.version_number, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _token_page(request, session, token, errors=rules.errors_of(exc), status_code=422)
    session.commit()
    if approved.purpose == "reconfirm":
        message = "Thank you: you have approved the new text. Your signature stands."
    elif approved.status == "approved":
        message = "Thank you: your signature is confirmed."
    else:
        message = "Thank you: your signature is confirmed. The coalition will check it before it is listed."
    flash(request, message + " We have emailed you a receipt.", "success")
    return RedirectResponse(f"/manage/{approved.manage_token}", status_code=303)


@router.get("/confirm/{token}/withdraw", response_class=HTMLResponse, name="reconfirm_withdraw_page")
def reconfirm_withdraw_page(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> HTMLResponse:
    _limit(request, session, settings, "token-page")
    tokens.get_by_token(session=session, token=token, purposes=("reconfirm",))
    return _token_page(request, session, token, mode="withdraw")


@router.post("/confirm/{token}/withdraw", name="reconfirm_withdraw")
def reconfirm_withdraw(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> Response:
    _limit(request, session, settings, "confirm")
    tokens.get_by_token(session=session, token=token, purposes=("reconfirm",))
    signature = managing.withdraw_by_token(session=session, token=token, ip=client_ip(request))
    session.commit()
    return _withdrawn_page(request, session, signature)


def _withdrawn_page(request: Request, session: Session, signature: Signature) -> HTMLResponse:
    letter = session.get(Letter, signature.letter_id)
    return render(request, "signatures/withdrawn.html", {"letter": letter, "signature": signature})


def _manage_context(session: Session, token: str, values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None) -> dict[str, Any]:
    _row, signature, letter, _current = tokens.get_by_token(session=session, token=token, purposes=("manage",))
    version = session.get(LetterVersion, signature.version_id) if signature.version_id else None
    return {
        "letter": letter, "signature": signature, "token": token, "version": version, "errors": errors or {},
        "values": values if values is not None else {
            "display_name": signature.display_name, "signer_name": signature.signer_name,
            "signer_role": signature.signer_role, "website": signature.website or "", "city": signature.city or ""},
        "state_label": rules.STATE_LABELS.get(signature.status, signature.status),
        "change": identity.pending_change(session=session, signature_id=signature.id),
        "state": managing.ManageState.of(letter=letter, signature=signature),
    }


@router.get("/manage/{token}", response_class=HTMLResponse, name="manage_page")
def manage_page(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> HTMLResponse:
    _limit(request, session, settings, "token-page")
    return render(request, "signatures/manage.html", _manage_context(session, token))


@router.post("/manage/{token}", name="manage_submit")
def manage_submit(request: Request, session: SessionDep, settings: SettingsDep, token: str,
                  form: Annotated[ListingForm, Form()],
                  logo: LogoUpload = None) -> Response:
    _limit(request, session, settings, "confirm")
    try:
        signature = managing.update_listing(session=session, settings=settings, token=token, ip=client_ip(request),
                                           data=form.to_input(_read_upload(logo)))
    except InvalidInput as exc:
        session.rollback()
        return render(request, "signatures/manage.html",
                      _manage_context(session, token, form.values(), rules.errors_of(exc)), status_code=422)
    held = identity.pending_change(session=session, signature_id=signature.id) is not None
    session.commit()
    flash(request, "Your listing is updated." if not held else
          "Saved. The coalition checks every change of an organisation's name or website: your listing stays as "
          "it was until they approve it.", "success")
    return RedirectResponse(f"/manage/{token}", status_code=303)


@router.post("/manage/{token}/withdraw", name="manage_withdraw")
def manage_withdraw(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> Response:
    _limit(request, session, settings, "confirm")
    signature = managing.withdraw_by_token(session=session, token=token, ip=client_ip(request))
    session.commit()
    return _withdrawn_page(request, session, signature)


@router.get("/signatures/logos/{name}", name="signature_logo")
def signature_logo(settings: SettingsDep, name: str) -> Response:
    path = logos.path_for(name, media_dir=settings.media_dir)
    if path is None:
        raise NotFound("There is no such logo.")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=86400",
                                                                "Content-Disposition": "inline"})


# The coalition's dashboard -------------------------------------------------------------------------

def _dashboard(request: Request, session: Session, settings: Settings, user: Any, slug: str, *, state: str = "",
               verified: bool = False,
               invite_text: str = "", errors: dict[str, str] | None = None, status_code: int = 200,
               correction: dict[str, Any] | None = None) -> HTMLResponse:
    letter = access.get_letter(session=session, slug=slug)
    controls = dashboard.controls(session=session, letter=letter, user=user)
    rows, counts = dashboard.dashboard(session=session, letter=letter, controls=controls)
    shown = [r for r in rows if r.state == state] if state in rules.DASHBOARD_STATES else rows
    if verified:  # only those confirmed from an address at their organisation's own domain
        shown = [r for r in shown if r.signature is not None and r.signature.confirmed_domain]
    return render(request, "signatures/dashboard.html", {
        "letter": letter, **letter_policy.nav(letter, controls.role), "controls": controls, "perms": controls.perms,
        "rows": shown,
        "counts": counts, "total": len(rows), "state": state if state in rules.DASHBOARD_STATES else "",
        "states": rules.DASHBOARD_STATES,
        "verified": verified, "labels": rules.STATE_LABELS, "queue": dashboard.waiting(rows),
        "listed": dashboard.orderable(rows),
        "open_link": settings.base_url.rstrip("/") + f"/letters/{letter.slug}/sign",
        "invite_text": invite_text, "errors": errors or {},
        "changes": identity.held_changes(session=session, letter_id=letter.id) if controls.perms.moderate else [],
        "correction": correction or {},
    }, status_code=status_code)


@coalition_router.get("/letters/{slug}/signatories", response_class=HTMLResponse, name="signatories")
def signatories(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, slug: str,
                state: str = "",
                verified: str = "") -> HTMLResponse:
    return _dashboard(request, session, settings, user, slug, state=state, verified=verified == "1")


def _back(slug: str) -> RedirectResponse:
    return RedirectResponse(f"/letters/{slug}/signatories", status_code=303)


def _done(request: Request, session: Session, slug: str, message: str) -> RedirectResponse:
    session.commit()
    flash(request, message, "success")
    return _back(slug)


@coalition_router.post("/letters/{slug}/signatories/invites", name="signatories_invite")
def invite_submit(
    request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, slug: str,
    form: Annotated[InviteForm, Form()], invites_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    pasted = body = form.invites
    if invites_file is not None and invites_file.filename:
        raw = _read_upload(invites_file, 2 * 1024 * 1024) or b""
        if len(raw) > 2 * 1024 * 1024:
            return _dashboard(request, session, settings, user, slug, invite_text=pasted, status_code=422,
                              errors={"invites": "The CSV file is larger than 2 MB: split it into smaller files."})
        try:
            body = text.clean_text(raw.decode("utf-8-sig")) + "\n" + pasted
        except UnicodeDecodeError:
            return _dashboard(request, session, settings, user, slug, invite_text=pasted, status_code=422,
                              errors={"invites": "The CSV file is not UTF-8 text. Save it as “CSV UTF-8” and try "
                                                 "again."})
    try:
        created, skipped = invites.create_invites(session=session, settings=settings, letter=letter, text=body,
                                                  user=user,
                                                  ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        if isinstance(exc, limits.InviteLimitReached):  # noted for the site admins, in a transaction of its own
            limits.record(session=session, user=user, letter=letter, exc=exc, ip=client_ip(request))
            session.commit()
        return _dashboard(request, session, settings, user, slug, invite_text=pasted, errors=rules.errors_of(exc),
                          status_code=422)
    message = f"Invited {len(created)} organisation{'s' if len(created) != 1 else ''}."
    if skipped:
        message += " Skipped: " + " ".join(skipped[:10])
    return _done(request, session, slug, message)


@coalition_router.post("/letters/{slug}/signatories/invites/{invite_id}/resend", name="invite_resend")
def invite_resend(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, slug: str,
                  invite_id: int) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    invite = invites.resend_invite(session=session, settings=settings, letter=letter, invite_id=invite_id, user=user,
                                   ip=client_ip(request))
    return _done(request, session, slug, f"The invite to {invite.organisation_name} was sent again with a new link.")


@coalition_router.post("/letters/{slug}/signatories/invites/{invite_id}/revoke", name="invite_revoke")
def invite_revoke(request: Request, session: SessionDep, user: CurrentUser, slug: str, invite_id: int) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    invite = invites.revoke_invite(session=session, letter=letter, invite_id=invite_id, user=user,
                                   ip=client_ip(request))
    return _done(request, session, slug, f"The invite to {invite.organisation_name} was revoked: its link no "
                                         "longer works.")


@coalition_router.post("/letters/{slug}/signatories/remind", name="invites_remind")
def invites_remind(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                   slug: str) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    count = invites.remind_unanswered(session=session, settings=settings, letter=letter, user=user,
                                      ip=client_ip(request))
    return _done(request, session, slug, f"Sent a reminder to {count} organisation{'s' if count != 1 else ''} "
                                         "that had not answered." if count else "Nobody was left to remind.")


@coalition_router.post("/letters/{slug}/signatories/status", name="signatories_status")
def letter_status(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                  form: Annotated[StatusForm, Form()]) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    opening.set_status(session=session, letter=letter, status=form.status, user=user, ip=client_ip(request))
    return _done(request, session, slug, "The letter is open for signatures." if form.status == "open" else
                 "The letter is closed: no new signatures.")


@coalition_router.post("/letters/{slug}/signatories/settings", name="signatories_settings")
def signing_settings(
    request: Request, session: SessionDep, user: CurrentUser, slug: str,
    form: Annotated[SigningSettingsForm, Form()],
) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    opening.update_settings(session=session, letter=letter, user=user, ip=client_ip(request),
                            values=form.to_settings())
    return _done(request, session, slug, "Signing settings saved.")


@coalition_router.get("/letters/{slug}/signatories/{signature_id}/invite-again", response_class=HTMLResponse,
                      name="signature_invite_again_page")
def invite_again_page(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                      signature_id: int) -> HTMLResponse:
    letter = access.get_letter(session=session, slug=slug)
    signature = reinvite.get_candidate_for(session=session, letter=letter, user=user, signature_id=signature_id)
    return render(request, "signatures/invite_again.html", {"letter": letter, "signature": signature})


@coalition_router.post("/letters/{slug}/signatories/{signature_id}/invite-again", name="signature_invite_again")
def invite_again(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, slug: str,
                 signature_id: int) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    invite = reinvite.invite_again(session=session, settings=settings, letter=letter, signature_id=signature_id,
                                   user=user,
                                   ip=client_ip(request))
    return _done(request, session, slug, f"{invite.organisation_name} is invited again at {invite.email}.")


@coalition_router.post("/letters/{slug}/signatories/{signature_id}/approve", name="signature_approve")
def signature_approve(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                      signature_id: int) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    s = moderation.moderate(session=session, letter=letter, signature_id=signature_id, approve=True, user=user,
                         ip=client_ip(request))
    return _done(request, session, slug, f"{s.display_name} is approved and will be listed.")


@coalition_router.post("/letters/{slug}/signatories/{signature_id}/reject", name="signature_reject")
def signature_reject(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                     signature_id: int) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    s = moderation.moderate(session=session, letter=letter, signature_id=signature_id, approve=False, user=user,
                         ip=client_ip(request))
    return _done(request, session, slug, f"{s.display_name} was rejected and will not be listed.")


@coalition_router.post("/letters/{slug}/signatories/{signature_id}/change/approve", name="listing_change_approve")
def listing_change_approve(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                           signature_id: int) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    s = moderation.moderate_change(session=session, letter=letter, signature_id=signature_id, approve=True, user=user,
                                ip=client_ip(request))
    return _done(request, session, slug, f"The change is approved: the listing now reads {s.display_name}.")


@coalition_router.post("/letters/{slug}/signatories/{signature_id}/change/reject", name="listing_change_reject")
def listing_change_reject(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                          signature_id: int) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    s = moderation.moderate_change(session=session, letter=letter, signature_id=signature_id, approve=False, user=user,
                                ip=client_ip(request))
    return _done(request, session, slug, f"The change was rejected: the listing stays {s.display_name}.")


@coalition_router.post("/letters/{slug}/signatories/{signature_id}/correct", name="listing_correct")
def listing_correct(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, slug: str,
                    signature_id: int, form: Annotated[CorrectionForm, Form()]) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    try:
        s, before = moderation.correct_listing(session=session, letter=letter, signature_id=signature_id,
                                            display_name=form.display_name, user=user, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _dashboard(request, session, settings, user, slug, status_code=422,
                          correction={"id": signature_id, "value": form.display_name, "error": exc.message})
    told = " They have been told by email." if s.contact_email else ""
    return _done(request, session, slug, f"“{before}” now reads “{s.display_name}”.{told}")


@coalition_router.post("/letters/{slug}/signatories/{signature_id}/withdraw", name="signature_withdraw")
def signature_withdraw(request: Request, session: SessionDep, user: CurrentUser, slug: str, signature_id: int,
                       form: Annotated[WithdrawForm, Form()]) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    try:
        s = moderation.withdraw_by_lead(session=session, letter=letter, signature_id=signature_id, reason=form.reason,
                                     user=user, ip=client_ip(request))
    except ServiceError as exc:
        session.rollback()
        flash(request, exc.message, "error")
        return _back(slug)
    return _done(request, session, slug, f"The signature of {s.display_name} was withdrawn (recorded).")


@coalition_router.post("/letters/{slug}/signatories/order", name="signatories_order")
def signatories_order(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                      form: Annotated[OrderForm, Form()]) -> Response:
    letter = access.get_letter(session=session, slug=slug)
    try:
        moderation.set_display_order(session=session, letter=letter, order=form.positions(), user=user,
                                     ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        flash(request, exc.message, "error")
        return _back(slug)
    return _done(request, session, slug, "The display order is saved.")


@coalition_router.get("/letters/{slug}/signatories/export.csv", name="signatories_csv")
def signatories_csv(session: SessionDep, user: CurrentUser, slug: str, emails: str = "") -> Response:
    letter = access.get_letter(session=session, slug=slug)
    body, include = dashboard.export_csv(session=session, letter=letter, user=user, emails=emails == "1")
    name = f"{letter.slug}-signatories{'-with-emails' if include else ''}.csv"
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

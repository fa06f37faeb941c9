"""Public pages: home, the index of published letters, the public letter page, the press pack, press links,
feeds; and the lead's publish page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.accounts.deps import CurrentUser
from backend.accounts.models import User
from backend.campaigns import service as campaigns
from backend.config import Settings
from backend.db import SessionDep, as_utc, utcnow
from backend.deps import FormDep, SettingsDep
from backend.deps import form_text as text
from backend.errors import InvalidInput, NotFound
from backend.letters import policy as letter_policy
from backend.letters.models import Letter
from backend.letters.rendering import render_letter
from backend.mail import service as mail
from backend.publishing import documents, embargo, pack, pagecache, policy, service
from backend.publishing.share import share_image
from backend.security import client_ip
from backend.signatures import logos
from backend.signatures.models import Signature
from backend.templating import Templating
from backend.web import flash, path_for, render, run_waiting

router = APIRouter()  # the public pages: the letters, their share images and logos
press_router = APIRouter()  # the press pack, public once published, and press links before the embargo
coalition_router = APIRouter()  # the lead's publish page

PUBLIC_CACHE = "public, max-age=60, stale-while-revalidate=300"
SearchText = Annotated[str, Query(max_length=200)]

@router.get("/", response_class=HTMLResponse, name="home")
def home(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "publishing/home.html", {"letters": service.get_published(session=session, limit=10)})


@router.get("/letters", response_class=HTMLResponse, name="letters_index")
def letters_index(request: Request, session: SessionDep, q: SearchText = "", recipient: SearchText = "",
                  organisation: SearchText = "", tag: SearchText = "") -> HTMLResponse:
    found = service.search(session=session, text=q, recipient=recipient, organisation=organisation, tag=tag)
    return render(request, "publishing/index.html", {
        "letters": found, "values": {"q": q, "recipient": recipient, "organisation": organisation, "tag": tag},
        "searched": any((q, recipient, organisation, tag)),
    })


# The public letter page ----------------------------------------------------------------------------------

def _not_modified(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match")
    return given is not None and pagecache.etag_matches(given, etag)


def _cached_response(request: Request, body: bytes, etag: str, media_type: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": PUBLIC_CACHE}  # the same bytes for every Accept-Encoding: no Vary
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _published_or_404(session: Session, slug: str) -> Letter:
    return service.get_public(session=session, slug=slug)


def _render_public_page(templating: Templating, session: Session, letter: Letter) -> bytes:
    view = service.public_view(session=session, letter=letter)
    settings = templating.settings
    url_for = templating.absolute_url_for
    logos_by_name = {s.display_name: url_for("letter_logo", slug=letter.slug, signature_id=s.id)
                     for s in view.signatures if s.logo_path and s.kind == "organisation"}
    ctx: dict[str, Any] = {
        # The page is the same for everyone (a CDN may serve it): no user, no CSRF token, no messages.
        "current_user": None, "csrf_token": "", "messages": [], "settings": settings,
        "view": view, "letter": letter,
        "letter_html": render_letter(session=session, letter=letter, version=view.version,
                                     signatures=view.signatures),
        "logos": [(name, url) for name, url in logos_by_name.items()],
        "url": url_for("letter_public", slug=letter.slug),
        "count": len(view.signatures),
    }
    return templating.env.get_template("publishing/letter.html").render(ctx).encode("utf-8")


def _public_key(letter_id: int | None, revision: int, kind: str) -> tuple[pagecache.Key, str]:
    """The cache key and ETag of a public page: the same in every server process (a proxy may cache by it)."""
    key = pagecache.key_of(letter_id, revision, kind)
    return key, f'"{kind}-{letter_id}-{revision}-{key[2]}"'


def _render_or_redirect(request: Request, engine: Any, slug: str, key: pagecache.Key) -> Response | bytes:
    """The thread-pool half of the public page: a member's redirect, a 404, or the page's bytes (rendered once)."""
    with Session(engine, expire_on_commit=False) as session:
        letter = service.get_by_slug(session=session, slug=slug)
        if letter.status != "published":
            if service.is_member(session=session, letter=letter, user=request.state.user):
                return RedirectResponse(path_for(request, "letter", slug=letter.slug), status_code=303)
            raise NotFound("There is no letter at this address.")
        return pagecache.get_or_render(key, lambda: _render_public_page(request.app.state.templating, session, letter))


@router.get("/letters/{slug}", response_class=HTMLResponse, name="letter_public")
async def letter_public(request: Request, slug: str) -> Response:
    """The public letter page. Async: its one query (the letter's id, status and public revision) runs on the
    event loop, so a 304, or a page already rendered for this revision, waits for no thread; a render goes to one."""
    engine = request.app.state.engine
    found = pagecache.public_key_of(engine, slug)
    if found is None:
        raise NotFound("There is no letter at this address.")
    letter_id, status, revision = found
    key, etag = _public_key(letter_id, revision, "page")
    if status == "published":
        if _not_modified(request, etag):
            return _cached_response(request, b"", etag, "text/html")
        body = pagecache.cached(key)
        if body is not None:
            return _cached_response(request, body, etag, "text/html; charset=utf-8")
    answer = await run_in_threadpool(_render_or_redirect, request, engine, slug, key)
    if isinstance(answer, Response):
        return answer
    return _cached_response(request, answer, etag, "text/html; charset=utf-8")


@router.get("/letters/{slug}/share.png", name="letter_share_image")
def letter_share_image(request: Request, session: SessionDep, slug: str) -> Response:
    letter = _published_or_404(session, slug)
    key, etag = _public_key(letter.id, letter.public_revision, "share")
    if _not_modified(request, etag):
        return _cached_response(request, b"", etag, "image/png")

    def draw() -> bytes:
        count = service.signature_count(session=session, letter=letter)
        version = service.final_version(session=session, letter=letter)
        return share_image(title=letter.title, subtitle=version.subject,
                           footer=f"An open letter · {count} signator{'y' if count == 1 else 'ies'}")

    return _cached_response(request, pagecache.get_or_render(key, draw), etag, "image/png")


@router.get("/letters/{slug}/logos/{signature_id}.png", name="letter_logo")
def letter_logo(session: SessionDep, settings: SettingsDep, slug: str, signature_id: int) -> Response:
    letter = _published_or_404(session, slug)
    signature = session.get(Signature, signature_id)
    listed = {s.id for s in service.final_signatures(session=session, letter=letter)}
    if signature is None or signature.id not in listed or not (signature.logo_path or "").startswith("logos/"):
        raise NotFound("There is no such logo.")
    path = logos.path_for((signature.logo_path or "").removeprefix("logos/"), media_dir=settings.media_dir)
    if path is None:
        raise NotFound("There is no such logo.")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": PUBLIC_CACHE})


# The press pack (public once published) ---------------------------------------------------------------------

class DocumentResponse(FileResponse):
    """A built document, read up to 1 MiB at a time: each read is a thread-pool hop, and Starlette's 64 KiB would
    make a press pack several."""

    chunk_size = 1024 * 1024


def _file_response(settings: Settings, slug: str, name: str, built: documents.BuiltFile,
                   embargoed: bool) -> Response:
    """A built file of the pack as a download: sent by nginx when it is in front (X-Accel-Redirect), else here."""
    download = f"{slug}-{name.replace('/', '-')}"
    headers = {"Cache-Control": PUBLIC_CACHE if not embargoed else "private, no-store",
               "ETag": f'"{built.path.stem}"', "X-Content-Type-Options": "nosniff"}
    if settings.x_accel_redirect:  # nginx sends the file (deploy/nginx/undersigned.conf, /_media/)
        relative = built.path.resolve().relative_to(Path(settings.media_dir).resolve())
        return Response(headers={**headers, "X-Accel-Redirect": f"/_media/{relative.as_posix()}",
                                 "Content-Type": pack.media_type(name),
                                 "Content-Disposition": f'attachment; filename="{download}"'})
    return DocumentResponse(built.path, media_type=pack.media_type(name), filename=download, headers=headers,
                            stat_result=built.stat)


def _pack_file(request: Request, session: Session, settings: Settings, letter: Letter, name: str,
               embargoed: bool) -> Response:
    """One file of the pack of the letter's current revision, built by the worker (waiting for it if need be)."""
    kind = "embargoed" if embargoed else "public"
    session.close()  # the wait holds no connection and no transaction (the letter keeps what was loaded)
    try:
        files = documents.files_for(engine=request.app.state.engine, letter=letter, kind=kind,
                                    wait_seconds=settings.document_wait_seconds)
    except documents.DocumentsNotReady as exc:
        raise HTTPException(503, exc.message, headers={"Retry-After": str(exc.retry_after)}) from exc
    built = documents.path_of(files, name, Path(settings.media_dir))
    if built is None:
        raise NotFound("There is no such file in the press pack.")
    return _file_response(settings, letter.slug, name, built, embargoed)


def _public_pack_file(request: Request, settings: Settings, slug: str, name: str) -> Response:
    """The thread-pool half of a public download: a published letter's file, waiting for its build if need be."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        letter = _published_or_404(session, slug)
        return _pack_file(request, session, settings, letter, name, embargoed=False)


async def _public_download(request: Request, settings: Settings, slug: str, name: str) -> Response:
    """Async: a pack already built for the letter's current revision is found with one query on the event loop and
    sent as a file; anything else (a build to wait for, a 404) is answered from the threads kept for waits."""
    built = documents.built_public_file(engine=request.app.state.engine, slug=slug, name=name,
                                        media_dir=Path(settings.media_dir))
    if built is not None:
        return _file_response(settings, slug, name, built, embargoed=False)
    return await run_waiting(request, _public_pack_file, request, settings, slug, name)


@press_router.get("/letters/{slug}/press-pack.zip", name="press_pack")
async def press_pack(request: Request, settings: SettingsDep, slug: str) -> Response:
    return await _public_download(request, settings, slug, pack.ZIP_NAME)


@press_router.get("/letters/{slug}/press/{name:path}", name="press_file")
async def press_file(request: Request, settings: SettingsDep, slug: str, name: str) -> Response:
    if name not in pack.PACK_FILES and not name.startswith("logos/"):
        raise NotFound("There is no such file in the press pack.")
    return await _public_download(request, settings, slug, name)


# Press links (before the embargo) ---------------------------------------------------------------------------

@press_router.get("/press/{token}", response_class=HTMLResponse, name="press_preview")
def press_preview(request: Request, session: SessionDep, token: str) -> Response:
    published = embargo.published_letter_of(session=session, token=token)
    if published is not None:  # the embargo is over: the link leads to the public page and its pack
        return RedirectResponse(path_for(request, "letter_public", slug=published.slug), status_code=303)
    link, letter = service.get_press_link_by_token(session=session, token=token)
    service.log_download(session=session, link=link, file="preview", ip=client_ip(request))
    session.commit()
    view = service.public_view(session=session, letter=letter)
    return render(request, "press/preview.html", {
        "link": link, "letter": letter, "view": view, "token": token,
        "embargo_line": service.embargo_line(letter=letter, embargoed=True),
        "letter_html": render_letter(session=session, letter=letter, version=view.version,
                                     signatures=view.signatures),
        "files": [n for n in pack.PACK_FILES if n != "README.txt"],
    })


@press_router.get("/press/{token}/press-pack.zip", name="press_link_pack")
async def press_link_pack(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> Response:
    return await run_waiting(request, _press_link_pack, request, session, settings, token)


def _press_link_pack(request: Request, session: Session, settings: Settings, token: str) -> Response:
    published = embargo.published_letter_of(session=session, token=token)
    if published is not None:
        return RedirectResponse(path_for(request, "press_pack", slug=published.slug), status_code=303)
    link, letter = service.get_press_link_by_token(session=session, token=token)
    service.log_download(session=session, link=link, file=pack.ZIP_NAME, ip=client_ip(request))
    session.commit()
    return _pack_file(request, session, settings, letter, pack.ZIP_NAME, embargoed=True)


@press_router.get("/press/{token}/files/{name:path}", name="press_link_file")
async def press_link_file(request: Request, session: SessionDep, settings: SettingsDep, token: str,
                          name: str) -> Response:
    return await run_waiting(request, _press_link_file, request, session, settings, token, name)


def _press_link_file(request: Request, session: Session, settings: Settings, token: str, name: str) -> Response:
    published = embargo.published_letter_of(session=session, token=token)
    if published is not None and (name in pack.PACK_FILES or name.startswith("logos/")):
        return RedirectResponse(path_for(request, "press_file", slug=published.slug, name=name),
                                status_code=303)
    link, letter = service.get_press_link_by_token(session=session, token=token)
    if name not in pack.PACK_FILES and not name.startswith("logos/"):
        raise NotFound("There is no such file in the press pack.")
    service.log_download(session=session, link=link, file=name, ip=client_ip(request))
    session.commit()
    return _pack_file(request, session, settings, letter, name, embargoed=True)


# The lead's publish page -------------------------------------------------------------------------------------

def _lead_letter(session: Session, slug: str, user: User) -> Letter:
    letter, _ = service.letter_for(session=session, slug=slug, user=user)
    return letter


def _publish_page(request: Request, session: Session, letter: Letter, user: User, *,
                  values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                  new_link: str | None = None, status_code: int = 200, emailed_to: str = "") -> HTMLResponse:
    role = campaigns.role_of(session=session, campaign_id=letter.campaign_id, user=user)
    embargo = as_utc(letter.embargo_at)
    return render(request, "publishing/publish.html", {
        "letter": letter, **letter_policy.nav(letter, role), **policy.publish_page(letter, role),
        "schedule": service.get_schedule(session=session, letter=letter),
        "embargo_future": embargo is not None and embargo > utcnow(),
        "embargo_line": service.embargo_line(letter=letter, embargoed=True),
        "count": service.signature_count(session=session, letter=letter),
        "press_links": service.get_press_links(session=session, letter=letter),
        # Journalists' addresses whose mail was refused for good, with the server's reason (backend/mail).
        "refused": mail.undeliverable(session=session, addresses=[
            link.email for link, _ in service.get_press_links(session=session, letter=letter) if link.email]),
        "documents": documents.status_of(session=session, letter=letter),
        "values": values or {}, "errors": errors or {}, "new_link": new_link, "emailed_to": emailed_to,
        "embargo_date": values.get("embargo_date", "") if values else _local(letter, "%Y-%m-%d"),
        "embargo_time": values.get("embargo_time", "") if values else _local(letter, "%H:%M"),
    }, status_code=status_code)


def _local(letter: Letter, fmt: str) -> str:
    at = as_utc(letter.embargo_at)
    return at.astimezone(service.LONDON).strftime(fmt) if at else ""


@coalition_router.get("/letters/{slug}/publish", response_class=HTMLResponse, name="letter_publish_page")
def publish_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    return _publish_page(request, session, _lead_letter(session, slug, user), user)


def _action(request: Request, session: Session, letter: Letter, user: User, action: str) -> Response:
    ip = client_ip(request)
    try:
        if action == "now":
            was_ahead = embargo.embargo_ahead(letter)
            embargo.publish_now(session=session, letter=letter, user=user, ip=ip, break_embargo=True)
            message = ("The letter is published, before its embargo: journalists with press links have been told."
                       if was_ahead else "The letter is published.")
        elif action == "schedule":
            service.schedule(session=session, letter=letter, user=user, ip=ip)
            message = f"The letter will be published at {service.embargo_line(letter=letter, embargoed=True)[16:]}."
        else:
            service.cancel_schedule(session=session, letter=letter, user=user, ip=ip)
            message = "The scheduled publication is cancelled."
    except InvalidInput as exc:
        session.rollback()
        return _publish_page(request, session, letter, user, errors={"publish": exc.message}, status_code=422)
    session.commit()
    flash(request, message, "success")
    return RedirectResponse(path_for(request, "letter_publish_page", slug=letter.slug), status_code=303)


def _confirm_page(request: Request, session: Session, letter: Letter, status_code: int = 200) -> HTMLResponse:
    return render(request, "publishing/publish_confirm.html", {
        "letter": letter, "embargo_line": service.embargo_line(letter=letter, embargoed=True),
        "press_links": embargo.active_press_links(session=session, letter=letter),
    }, status_code=status_code)


@coalition_router.get("/letters/{slug}/publish/now", response_class=HTMLResponse, name="letter_publish_confirm")
def publish_confirm(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    letter = _lead_letter(session, slug, user)
    if not embargo.embargo_ahead(letter):
        return RedirectResponse(path_for(request, "letter_publish_page", slug=letter.slug), status_code=303)
    return _confirm_page(request, session, letter)


@coalition_router.post("/letters/{slug}/publish/now", name="letter_publish_now")
def publish_now(request: Request, session: SessionDep, user: CurrentUser, form: FormDep, slug: str) -> Response:
    letter = _lead_letter(session, slug, user)
    if embargo.embargo_ahead(letter) and text(form, "break_embargo") != "yes":
        return _confirm_page(request, session, letter, status_code=409)
    return _action(request, session, letter, user, "now")


@coalition_router.post("/letters/{slug}/publish/schedule", name="letter_publish_schedule")
def publish_schedule(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    return _action(request, session, _lead_letter(session, slug, user), user, "schedule")


@coalition_router.post("/letters/{slug}/publish/cancel", name="letter_publish_cancel")
def publish_cancel(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    return _action(request, session, _lead_letter(session, slug, user), user, "cancel")


@coalition_router.post("/letters/{slug}/publish/press-links", response_class=HTMLResponse, name="press_link_create")
def press_link_create(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                      form: FormDep, slug: str) -> Response:
    letter = _lead_letter(session, slug, user)
    values = {k: text(form, k)[:300] for k in ("journalist", "outlet", "email")}
    try:
        link, token = service.create_press_link(session=session, settings=settings, letter=letter, user=user,
                                               ip=client_ip(request), **values)
    except InvalidInput as exc:
        session.rollback()
        return _publish_page(request, session, letter, user, values=values,
                             errors={exc.field or "journalist": exc.message}, status_code=422)
    session.commit()
    # The token is shown once, on this page, to copy and send to the journalist; only its hash is kept.
    new_link = settings.base_url.rstrip("/") + path_for(request, "press_preview", token=token)
    return _publish_page(request, session, letter, user, new_link=new_link, emailed_to=link.email)


@coalition_router.post("/letters/{slug}/publish/embargo", response_class=HTMLResponse, name="letter_embargo_move")
def embargo_move(request: Request, session: SessionDep, user: CurrentUser, form: FormDep, slug: str) -> Response:
    letter = _lead_letter(session, slug, user)
    values = {k: text(form, k)[:20] for k in ("embargo_date", "embargo_time")}
    try:
        moved = embargo.move(session=session, letter=letter, date_text=values["embargo_date"],
                             time_text=values["embargo_time"], user=user, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _publish_page(request, session, letter, user, values=values, errors={"embargo": exc.message},
                             status_code=422)
    session.commit()
    message = f"The embargo is moved: {service.embargo_line(letter=letter, embargoed=True).lower()}."
    if moved.emailed:
        message += f" Emailed {len(moved.emailed)} journalist{'s' if len(moved.emailed) != 1 else ''} with press links."
    if moved.to_tell:
        names = ", ".join(link.journalist for link in moved.to_tell)
        message += f" Tell {names} yourself: their press links have no email."
    flash(request, message, "success")
    return RedirectResponse(path_for(request, "letter_publish_page", slug=letter.slug), status_code=303)


@coalition_router.post("/letters/{slug}/publish/press-links/{press_link_id}/resend", name="press_link_resend")
def press_link_resend(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, slug: str,
                      press_link_id: int) -> Response:
    letter = _lead_letter(session, slug, user)
    link = embargo.resend_press_link(session=session, settings=settings, letter=letter, press_link_id=press_link_id,
                                     user=user,
                                     ip=client_ip(request))
    session.commit()
    flash(request, f"A new press link is emailed to {link.journalist} at {link.email}; the earlier one stops "
                   "working.", "success")
    return RedirectResponse(path_for(request, "letter_publish_page", slug=letter.slug), status_code=303)


@coalition_router.post("/letters/{slug}/publish/press-links/{press_link_id}/revoke", name="press_link_revoke")
def press_link_revoke(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                      press_link_id: int) -> Response:
    letter = _lead_letter(session, slug, user)
    link = service.revoke_press_link(session=session, letter=letter, press_link_id=press_link_id, user=user,
                                     ip=client_ip(request))
    session.commit()
    flash(request, f"The press link for {link.journalist} is revoked.", "success")
    return RedirectResponse(path_for(request, "letter_publish_page", slug=letter.slug), status_code=303)


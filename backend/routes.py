"""Every router of the app, in one place: the route table (the only module importing domain routes, with main)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from backend.accounts.routes import router as accounts_router
from backend.admin.routes import router as admin_router
from backend.campaigns.routes import router as campaigns_router
from backend.commitments.routes import router as commitments_router
from backend.config import Settings
from backend.health import router as health_router
from backend.inbound.routes import router as inbound_router
from backend.letters.routes import router as letters_router
from backend.mail.routes import router as mailbox_router
from backend.privacy.routes import router as privacy_router
from backend.publishing.api import router as publishing_api_router
from backend.publishing.routes import coalition_router as publish_page_router
from backend.publishing.routes import press_router
from backend.publishing.routes import router as publishing_router
from backend.responses.routes import router as responses_router
from backend.signatures.routes import coalition_router as signatories_router
from backend.signatures.routes import router as signatures_router


def routers(settings: Settings) -> list[APIRouter]:
    """The routers in the order they are matched: no two routers' paths overlap, so the order only decides how
    many routes a request is tried against before its own (each one tried costs the framework about seven
    Python calls).
    The public letter page and the signers' pages, the ones a publication day brings in thousands, come first;
    then the press pack and press links; the coalition's pages of the same domains (the publish page, the
    signatories dashboard) later."""
    found = [publishing_router, signatures_router, press_router, publishing_api_router, accounts_router,
             campaigns_router, letters_router, publish_page_router, signatories_router, admin_router,
             responses_router, inbound_router, commitments_router, privacy_router, health_router]
    if settings.is_development:  # never in test or production: it shows every reset link
        found.append(mailbox_router)
    return found


def include_routers(app: FastAPI, settings: Settings) -> None:
    for router in routers(settings):
        app.include_router(router)


def route_table(settings: Settings) -> APIRouter:
    """The app's routes without an app (the worker and the CLI link emails by route name with it)."""
    table = APIRouter()
    for router in routers(settings):
        table.include_router(router)
    return table

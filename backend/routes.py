"""Every router of the app, in one place."""

from __future__ import annotations

from fastapi import FastAPI

from backend.config import Settings


def include_routers(app: FastAPI, settings: Settings) -> None:
    from backend.accounts.routes import router as accounts_router
    from backend.publishing.routes import router as publishing_router

    app.include_router(publishing_router)
    app.include_router(accounts_router)
    from backend.signatures.routes import router as signatures_router

    app.include_router(signatures_router)
    from backend.campaigns.routes import router as campaigns_router
    from backend.letters.routes import router as letters_router

    app.include_router(campaigns_router)
    app.include_router(letters_router)
    from backend.admin.routes import router as admin_router

    app.include_router(admin_router)
    from backend.responses.routes import router as responses_router

    app.include_router(responses_router)
    from backend.inbound.routes import router as inbound_router

    app.include_router(inbound_router)
    from backend.commitments.routes import router as commitments_router

    app.include_router(commitments_router)
    from backend.privacy.routes import router as privacy_router

    app.include_router(privacy_router)
    from backend.health import router as health_router

    app.include_router(health_router)
    if settings.is_development:  # never in test or production: it shows every reset link
        from backend.mail.routes import router as mailbox_router

        app.include_router(mailbox_router)

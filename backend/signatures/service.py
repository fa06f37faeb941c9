"""The names other domains imported from the former one-module signatures service, re-exported.

The service is split by job (access, opening, invites, signing, tokens, confirming, managing, listing, moderation,
dashboard, rules); new code imports those modules. This module only keeps imports from other domains working
while they move to the new modules: nothing in backend/signatures imports it.
"""

from __future__ import annotations

from backend.signatures.confirming import on_new_version
from backend.signatures.invites import create_invites
from backend.signatures.listing import get_listed
from backend.signatures.moderation import withdraw_by_lead
from backend.signatures.signing import SignatureInput, sign
from backend.signatures.tokens import get_by_token, issue_token

_issue_token = issue_token  # tests/privacy/helpers.py

__all__ = ["SignatureInput", "create_invites", "get_by_token", "get_listed", "issue_token", "on_new_version",
           "sign", "withdraw_by_lead"]

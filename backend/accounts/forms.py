"""The accounts and admin forms, declared once (backend/forms.py `DeclaredForm`), and `errors_of`, which runs each
field's check and gathers every message so a form shows all its errors at once.

Generous caps on what is read from a form; the services apply the real limits with clear messages. Every typed
value goes through `text` (controls and invisible format characters removed; one line except a description);
passwords are read as sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from backend import text
from backend.errors import InvalidInput
from backend.forms import DeclaredForm

MAX_SHORT = 2000
MAX_LONG = 50_000


class AccountForm(DeclaredForm):
    """The base of the accounts and admin forms: one-line text, passwords untouched, the description on lines."""

    model_config = ConfigDict(str_max_length=MAX_SHORT, extra="ignore", frozen=True)
    SECRETS: ClassVar[frozenset[str]] = frozenset({"password", "current_password", "new_password"})
    MULTILINE: ClassVar[frozenset[str]] = frozenset({"description"})

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: Any, info: ValidationInfo) -> Any:  # type: ignore[override]
        """Replaces DeclaredForm's cleaning (same name, so the base's does not run too): passwords as sent."""
        if not isinstance(value, str) or info.field_name in cls.SECRETS:
            return value
        return text.clean_text(value, multiline=info.field_name in cls.MULTILINE)


class LoginForm(AccountForm):
    email: str = ""
    password: str = ""
    next: str = ""


class SignupForm(AccountForm):
    name: str = ""
    email: str = ""
    password: str = ""
    organisation: str = ""


class EmailForm(AccountForm):
    """Asking for a password reset link."""

    email: str = ""


class NewPasswordForm(AccountForm):
    """A new password from a reset link."""

    password: str = ""


class ChangePasswordForm(AccountForm):
    current_password: str = ""
    new_password: str = ""


class ProfileForm(AccountForm):
    name: str = ""


class OrganisationForm(AccountForm):
    """An organisation's details (the description only on its own page; the admin's form leaves it out)."""

    name: str = ""
    website: str = ""
    charity_number: str = ""
    description: Annotated[str, Field(max_length=MAX_LONG)] = ""


class MemberForm(AccountForm):
    """A site admin adding an existing account to an organisation."""

    email: str = ""
    role: str = "member"


def errors_of(*checks: tuple[str, Callable[[], Any]]) -> dict[str, str]:
    """{field: message} for each check that raised InvalidInput."""
    errors: dict[str, str] = {}
    for field, check in checks:
        try:
            check()
        except InvalidInput as exc:
            errors.setdefault(exc.field or field, exc.message)
    return errors

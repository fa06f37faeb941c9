"""Email addresses as SMTP can carry them, checked with `email-validator`.

Domains may be international (IDNA-encoded on the way out: `bücher.example` goes as `xn--bcher-kva.example`).
A local part outside ASCII (`jösé@...`) needs SMTPUTF8 all the way to the recipient's mailbox, which our relay
is not known to offer, so such addresses are refused where they are typed, with a message that says why.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from backend.errors import InvalidInput
from backend.templating import current

NON_ASCII_LOCAL_PART = (
    "The part before the @ has letters outside plain A-Z ({local}). Our mail server cannot deliver to such "
    "addresses yet: please give another address for the same person (one with only plain letters, digits "
    "and . _ + - before the @)."
)


class Unsendable(Exception):
    """An address no SMTP transaction can carry: the message is failed, not retried."""


def _validate(address: str, *, smtputf8: bool):  # type: ignore[no-untyped-def]
    return validate_email(address, check_deliverability=False, allow_smtputf8=smtputf8,
                          test_environment=current().settings.environment == "test")


def normalise(raw: str, *, field: str = "email") -> str:
    """Trims and case-folds an address typed by a person; raises InvalidInput with a reason when it will not do."""
    email = (raw or "").strip()
    if not email:
        raise InvalidInput("Enter an email address.", field=field)
    if len(email) > 254:
        raise InvalidInput("That email address is too long (254 characters at most).", field=field)
    local, at, _domain = email.rpartition("@")
    if at and local and not local.isascii():
        raise InvalidInput(NON_ASCII_LOCAL_PART.format(local=local), field=field)
    try:
        info = _validate(email, smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"Enter an email address like name@example.org. {exc}", field=field) from exc
    if info.ascii_email is None or len(info.ascii_email) > 254:
        raise InvalidInput("That email address is too long once its domain is encoded.", field=field)
    return info.normalized.casefold()


def for_smtp(address: str) -> str:
    """The address as it goes in the SMTP envelope and the To: header (ASCII, domain IDNA-encoded)."""
    if not (address or "").strip():
        raise Unsendable("there is no address to send to")
    try:
        info = _validate(address.strip(), smtputf8=True)
    except EmailNotValidError as exc:
        raise Unsendable(f"not an address SMTP can carry: {exc}") from exc
    if info.ascii_email is None:
        raise Unsendable("the part before the @ is not ASCII, and the mail relay is not asked to use SMTPUTF8")
    return info.ascii_email

"""The letter as signing sees it, and who may manage its signatories."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from backend.accounts.models import Organisation, User
from backend.campaigns import policy
from backend.campaigns.models import Campaign
from backend.campaigns.policy import Action
from backend.errors import NotFound
from backend.letters import rendering
from backend.letters import service as letters
from backend.letters.models import Letter, LetterVersion
from backend.publishing import pagecache
from backend.signatures import listing

# Letters and who may manage their signatories --------------------------------------------------------

def get_letter(*, session: Session, slug: str) -> Letter:
    """The letter with this slug, or NotFound."""
    letter = letters.get_by_slug(session=session, slug=slug)
    if letter is None:
        raise NotFound("There is no letter at this address.")
    return letter


def require(*, session: Session, letter: Letter, user: User, action: Action) -> str:
    """The user's coalition role on the letter's campaign when it allows `action` (see backend/campaigns/policy.py);
    Forbidden, or NotFound for someone outside the coalition."""
    return policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=action)


def lead_organisation(*, session: Session, letter: Letter) -> Organisation | None:
    campaign = session.get(Campaign, letter.campaign_id)
    return session.get(Organisation, campaign.lead_organisation_id) if campaign else None


def current_version(*, session: Session, letter: Letter) -> LetterVersion | None:
    return letters.current_version(session=session, letter=letter)


def letter_html(*, session: Session, letter: Letter, version: LetterVersion) -> Markup:
    """The letter as the shared renderer shows it."""
    return rendering.render_letter(session=session, letter=letter, version=version)


@dataclass(frozen=True)
class SigningText:
    """The text every signer of a letter reads at one public revision: its version, fingerprint and the letter
    rendered."""

    version_id: int
    number: int
    content_hash: str
    text_html: Markup


@dataclass(frozen=True)
class SignedSoFar:
    """One line of "Signed so far" on a signing page."""

    display_name: str
    kind: str
    signer_role: str | None


# Both are made once per public revision and day in the one page cache: the services bump the revision when the
# text, a recipient or a listed signature changes, and an unsent letter is dated today.

def signing_text(*, session: Session, letter: SigningLetter) -> SigningText:
    """The letter's current text as signers read it; NotFound when it has no text yet.

    Kept by public revision, and below that by what the text is made of: each confirmation bumps the revision
    but changes no word, so a new revision costs one small query, not a render of the letter."""
    key = pagecache.key_of(letter.id, letter.public_revision, "signing-text")
    return pagecache.get_or_render(key, lambda: _signing_text_by_content(session, letter))


def _signing_text_by_content(session: Session, letter: SigningLetter) -> SigningText:
    published_at = letter.published_at if isinstance(letter, Letter) else None
    # Besides its version and date, the text is made of its recipients as addressed, in order.
    addressed_to = letters.addressed_to(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    key = pagecache.key_by_content(letter.id, "signing-text-content",
                                   (letter.current_version_id, published_at, addressed_to))
    return pagecache.get_or_render(key, lambda: _signing_text(session=session, letter=_whole(session, letter)))


def signed_so_far(*, session: Session, letter: SigningLetter) -> tuple[SignedSoFar, ...]:
    """Who is listed publicly so far, for the signing page (whether it shows them is the lead's choice)."""
    key = pagecache.key_of(letter.id, letter.public_revision, "signed-so-far")
    return pagecache.get_or_render(key, lambda: tuple(
        SignedSoFar(s.display_name, s.kind, s.signer_role)
        for s in listing.get_listed(session=session, letter=_whole(session, letter))))


def _whole(session: Session, letter: SigningLetter) -> Letter:
    if isinstance(letter, Letter):
        return letter
    found = session.get(Letter, letter.id)
    if found is None:
        raise NotFound("There is no letter at this address.")
    return found


def _signing_text(*, session: Session, letter: Letter) -> SigningText:
    version = current_version(session=session, letter=letter)
    if version is None or version.id is None:
        raise NotFound("This letter has no text yet.")
    return SigningText(version_id=version.id, number=version.number, content_hash=version.content_hash,
                       text_html=letter_html(session=session, letter=letter, version=version))


def open_link_works(*, letter: SigningLetter) -> bool:
    """Whether the open sign-on link answers: open, enabled, and not under an embargo (its text would be at a
    guessable address before publication)."""
    return letter.status == "open" and letter.open_signon_enabled and letter.embargo_at is None


def taking_signatures(*, letter: SigningLetter) -> bool:
    """Whether the letter takes signatures now (through any link)."""
    return letter.status == "open"


def open_link_closed(*, letter: SigningLetter) -> bool:
    """Whether the open link leads to the "closed" page: it was on, and the letter is closed or published."""
    return letter.open_signon_enabled and letter.status in ("closed", "published")


def title_is_public(*, letter: Letter) -> bool:
    """Whether anyone may see the letter's title: published, or shown at its open sign-on link."""
    return letter.status == "published" or open_link_works(letter=letter)


@dataclass
class SignOnLetter:
    """What the open signing form and recording a sign-on read of a letter, in one row with its current text's
    hash (a whole `Letter` is fifty columns, loaded only when a page needs more)."""

    id: int | None
    slug: str
    title: str
    status: str
    open_signon_enabled: bool
    current_version_id: int | None
    allow_individuals: bool
    field_signer_role: str
    field_website: str
    field_logo: str
    field_city: str
    embargo_at: datetime | None
    show_signatories_while_open: bool
    moderate_open_signons: bool
    public_revision: int
    version_content_hash: str | None


SigningLetter = Letter | SignOnLetter


_letters, _versions = Letter.__table__, LetterVersion.__table__  # type: ignore[attr-defined]
# The columns of a SignOnLetter: the letter's, and its current text's hash (from `letter_version`, joined on the
# letter's current version); also read with an emailed link (`confirming.read_link`).
SIGN_ON_COLUMNS = (*(_letters.c[f.name] for f in fields(SignOnLetter) if f.name != "version_content_hash"),
                   _versions.c.content_hash.label("version_content_hash"))
_SIGN_ON_LETTER = (
    sa_select(*SIGN_ON_COLUMNS)
    .select_from(_letters.outerjoin(_versions, _versions.c.id == _letters.c.current_version_id))
    .where(_letters.c.slug == bindparam("slug"))
)


def get_sign_on_letter(*, session: Session, slug: str) -> SignOnLetter:
    """The letter at this address with its current text's hash, in one prepared query and no ORM objects (a
    sign-on reads nothing else of it); NotFound."""
    row = session.connection().execute(_SIGN_ON_LETTER, {"slug": slug}).first()
    if row is None:
        raise NotFound("There is no letter at this address.")
    return SignOnLetter(**row._mapping)

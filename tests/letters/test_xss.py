"""An XSS corpus in every text field of a letter comes out inert in the rendered HTML and in the PDF."""

from __future__ import annotations

import html as htmllib
import io
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from backend.campaigns import service as campaigns
from backend.config import get_settings
from backend.letters import service as letters
from backend.letters.models import Recipient
from backend.letters.pdf import letter_pdf
from backend.letters.rendering import render_letter

CORPUS = [
    "<script>alert('x')</script>",
    "\"><script>alert(1)</script>",
    "' onmouseover='alert(1)",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=1/></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<details open ontoggle=alert(1)>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript&#x3A;alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](<javascript:alert(1)>)",
    "[click](java%0ascript:alert(1))",
    "<javascript:alert(1)>",
    "[x]: javascript:alert(1)\n\n[x]",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    '[x](https://example.org "t" onmouseover="alert(1)")',
    '[x](https://example.org"onmouseover="alert(1))',
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<!-- <script>alert(1)</script> -->",
    "{{ 7*7 }} {% raw %}",
]

SAFE_SCHEMES = ("http:", "https:", "mailto:")
DANGEROUS_TAGS = {"script", "style", "iframe", "svg", "math", "img", "object", "embed", "form", "input", "details",
                  "link", "meta", "base", "frame", "frameset"}


class Inspector(HTMLParser):
    """Collects every element and attribute a browser would see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value or "") for name, value in attrs)


def assert_inert(html: str) -> None:
    inspector = Inspector()
    inspector.feed(html)
    assert not DANGEROUS_TAGS & set(inspector.tags), inspector.tags
    for tag, name, value in inspector.attrs:
        assert not name.startswith("on"), (tag, name, value)
        assert name not in {"style", "srcdoc", "formaction"}, (tag, name)
        if name in {"href", "src", "action", "xlink:href"}:
            squashed = re.sub(r"[\s\x00-\x1f]", "", htmllib.unescape(value)).lower()
            assert squashed.startswith(SAFE_SCHEMES) or squashed.startswith(("/", "#")) or ":" not in squashed, \
                (tag, name, value)
    assert "javascript:" not in re.sub(r"\s", "", htmllib.unescape(
        " ".join(v for _t, n, v in inspector.attrs if n in {"href", "src"}))).lower()


def assert_pdf_inert(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    for marker in (b"/JavaScript", b"/JS ", b"/JS(", b"/Launch", b"/SubmitForm", b"/EmbeddedFile"):
        assert marker not in pdf, marker
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is None:
                continue
            action = action.get_object()
            assert action.get("/S") in ("/URI", "/GoTo"), action
            uri = str(action.get("/URI", ""))
            assert not uri or uri.lower().startswith(SAFE_SCHEMES), uri
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def letter_with(db, make_user, payload: str):
    user = make_user(organisation="Safe Org")
    from backend.accounts.service import organisations_of

    org = organisations_of(session=db, user_id=user.id)[0]
    campaign = campaigns.create(session=db, title="XSS campaign", lead_organisation=org, created_by=user)
    letter = letters.create(session=db, campaign=campaign, title="XSS letter")
    version = letters.save_version(
        session=db, letter=letter, author_id=user.id, check_base=False,
        text=letters.LetterText(salutation=f"Dear {payload}"[:300], subject=f"Subject {payload}"[:300],
                                body=f"Body start.\n\n{payload}\n\nBody end.", sign_off=f"Yours {payload}"[:200]),
    )
    letters.set_recipients(session=db, letter=letter, recipients=[
        Recipient(organisation_id=org.id, name=f"Name {payload}"[:200], position=f"Position {payload}"[:300],
                  recipient_organisation=f"Org {payload}"[:200]),
    ])
    db.commit()
    signatures = [
        SimpleNamespace(display_name=f"Org {payload}", signer_name=f"Signer {payload}", signer_role=f"Role {payload}",
                        kind="organisation", website=payload),
        SimpleNamespace(display_name=f"Person {payload}", signer_name=f"Person {payload}",
                        signer_role=f"Role {payload}", kind="individual", website=f"javascript:alert(1)//{payload}"),
    ]
    return letter, version, signatures


@pytest.mark.parametrize("payload", CORPUS)
def test_payload_in_every_field_is_inert_in_html_and_pdf(payload, db, make_user):
    letter, version, signatures = letter_with(db, make_user, payload)
    html = str(render_letter(session=db, letter=letter, version=version, signatures=signatures))
    assert_inert(html)
    assert "Body start." in html and "Body end." in html

    text = assert_pdf_inert(letter_pdf(settings=get_settings(), session=db, letter=letter, version=version,
                                       signatures=signatures))
    assert "Body start." in text and "Body end." in text
    # Plain-text fields are shown as the text they are, not interpreted.
    first_line = payload.split("\n")[0]
    assert re.sub(r"\s", "", f"Subject {first_line}")[:40] in re.sub(r"\s", "", text)


def test_whole_corpus_in_one_body_is_inert(db, make_user):
    letter, version, signatures = letter_with(db, make_user, "\n\n".join(CORPUS))
    assert all(p.split("\n")[0] in version.body for p in CORPUS)
    html = str(render_letter(session=db, letter=letter, version=version, signatures=signatures))
    assert_inert(html)
    assert_pdf_inert(letter_pdf(settings=get_settings(), session=db, letter=letter, version=version,
                                signatures=signatures))


def test_a_safe_signatory_website_is_linked_and_an_unsafe_one_is_not(db, make_user):
    letter, version, _ = letter_with(db, make_user, "plain")
    signatures = [
        SimpleNamespace(display_name="Good", signer_name="A", signer_role="", kind="organisation",
                        website="https://good.example"),
        SimpleNamespace(display_name="Bad", signer_name="B", signer_role="", kind="organisation",
                        website="javascript:alert(1)"),
        SimpleNamespace(display_name="Quote", signer_name="C", signer_role="", kind="organisation",
                        website='https://x.example/" onmouseover="alert(1)'),
    ]
    html = str(render_letter(session=db, letter=letter, version=version, signatures=signatures))
    assert '<a href="https://good.example" rel="noopener noreferrer">Good</a>' in html
    assert '<span class="signatory-name">Bad</span>' in html
    assert "javascript" not in html
    assert "onmouseover" not in html

"""Templates build internal links from route names (`url_for`, `absolute_url_for` in emails), never literal paths."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LITERAL_LINK = re.compile(r'\b(?:href|action|src)="/(?!/)[^"]*"')
LITERAL_BASE_URL = re.compile(r"\{\{\s*settings\.base_url\s*\}\}/")



# Links that stay literal on purpose.
ALLOWED = {
    # The PDF renderer's URL fetcher maps /static/ to the files on disk; a PDF has no route table of its own.
    ("press/letter_pdf.html", 'href="/static/letter-pdf.css"'),
    ("letters/pdf.html", 'href="/static/letter-pdf.css"'),
    ("press/press_release_pdf.html", 'href="/static/letter-pdf.css"'),
}


def _literal_links() -> list[tuple[str, str]]:
    found = []
    for path in sorted(TEMPLATES.rglob("*")):
        name = path.relative_to(TEMPLATES).as_posix()
        if not path.is_file() or name.startswith("static/"):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (LITERAL_LINK, LITERAL_BASE_URL):
            found += [(name, m.group(0)) for m in pattern.finditer(text) if (name, m.group(0)) not in ALLOWED]
    return found


def test_templates_link_by_route_name() -> None:
    assert _literal_links() == [], "use url_for('route_name', ...) (emails: absolute_url_for) instead"


def test_the_allow_list_names_only_links_that_exist() -> None:
    for name, link in ALLOWED:
        assert link in (TEMPLATES / name).read_text(encoding="utf-8"), (name, link)

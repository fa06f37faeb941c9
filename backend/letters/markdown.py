"""Safe Markdown for letters: markdown-it-py with raw HTML off, then nh3 as a second, independent layer."""

from __future__ import annotations

from functools import lru_cache
from importlib.util import find_spec

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# What a letter may contain once rendered. Anything else is stripped (its text kept) by nh3.
ALLOWED_TAGS = frozenset({
    "p", "br", "strong", "em", "s", "del", "a", "ul", "ol", "li", "blockquote", "h2", "h3", "h4", "hr",
    "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"
HEADING_MAP = {"h1": "h2", "h5": "h4", "h6": "h4"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # js-default: CommonMark plus tables and strikethrough, raw HTML off. Linkify needs linkify-it-py.
    md = MarkdownIt("js-default")
    if find_spec("linkify_it") is not None:
        md.enable("linkify")
        md.options["linkify"] = True
    return md


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    # A letter travels by email, PDF and the public page: a relative link means nothing there.
    if tag == "a" and attribute == "href" and not value.lower().startswith(("https://", "http://", "mailto:")):
        return None
    return value


def sanitise_html(html: str) -> str:
    """Keeps only the letter's tags, attributes and URL schemes (http, https, mailto)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_absolute_links_only,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str) -> Markup:
    """Renders Markdown to HTML safe to put in a page or a PDF."""
    return _render_cached(text or "")


@lru_cache(maxsize=256)
def _render_cached(text: str) -> Markup:
    # The same text (a letter version) is shown on every signing and confirmation page: render it once.
    if not text or not text.strip():
        return Markup("")
    md = _parser()
    env: dict[str, object] = {}
    tokens = md.parse(text, env)
    for token in tokens:
        # The letter's subject is its top heading: body headings start one level below and stop at h4.
        if token.type in ("heading_open", "heading_close"):
            token.tag = HEADING_MAP.get(token.tag, token.tag)
    html = md.renderer.render(tokens, md.options, env)
    return Markup(sanitise_html(html))  # noqa: S704 - sanitised by nh3 just above


@lru_cache(maxsize=1)
def _pasted_parser() -> MarkdownIt:
    md = MarkdownIt("js-default", {"breaks": True})
    if find_spec("linkify_it") is not None:
        md.enable("linkify")
        md.options["linkify"] = True
    return md


def render_pasted(text: str) -> Markup:
    """Markdown for pasted text (a reply, a statement): a single line break is kept as a line break."""
    if not text or not text.strip():
        return Markup("")
    html = _pasted_parser().render(text.replace("\r\n", "\n"))
    return Markup(sanitise_html(html))  # noqa: S704 - sanitised by nh3 just above

"""Safe Markdown: what a letter may contain survives, everything else is stripped or escaped."""

from __future__ import annotations

from markupsafe import Markup

from backend.letters.markdown import render_markdown, sanitise_html


def test_paragraphs_emphasis_and_lists():
    html = render_markdown("One **bold** and *soft*.\n\nTwo.\n\n- a\n- b\n\n3. c\n4. d\n")
    assert isinstance(html, Markup)
    assert "<p>One <strong>bold</strong> and <em>soft</em>.</p>" in html
    assert "<p>Two.</p>" in html
    assert "<ul>\n<li>a</li>\n<li>b</li>\n</ul>" in html
    assert '<ol start="3">' in html


def test_links_keep_http_https_mailto_and_get_rel():
    html = render_markdown('[site](https://example.org "Our site") [old](http://example.org) '
                           "[mail](mailto:press@example.org)")
    assert '<a href="https://example.org" title="Our site" rel="noopener noreferrer">site</a>' in html
    assert '<a href="http://example.org" rel="noopener noreferrer">old</a>' in html
    assert '<a href="mailto:press@example.org" rel="noopener noreferrer">mail</a>' in html


def test_other_url_schemes_are_not_links():
    for url in ("javascript:alert(1)", "data:text/html,hi", "vbscript:x", "file:///etc/passwd", "ftp://example.org/",
                "/relative", "java%0ascript:alert(1)", "//example.org/x"):
        html = render_markdown(f"[x]({url})")
        assert "href" not in html, url


def test_headings_start_below_the_subject_and_stop_at_h4():
    html = render_markdown("# Top\n\n## Two\n\n###### Six\n")
    assert "<h2>Top</h2>" in html and "<h2>Two</h2>" in html and "<h4>Six</h4>" in html
    assert "<h1" not in html and "<h6" not in html


def test_tables_blockquotes_code_and_rules():
    html = render_markdown("| a | b |\n|--:|---|\n| 1 | 2 |\n\n> quoted\n\n---\n\n`x < y`\n\n```\ncode\n```\n")
    assert "<table>" in html and "<th>a</th>" in html and "<td>2</td>" in html
    assert "style=" not in html  # alignment styles are dropped
    assert "<blockquote>" in html and "<hr>" in html
    assert "<code>x &lt; y</code>" in html
    assert "<pre><code>code\n</code></pre>" in html


def test_raw_html_is_shown_as_text_not_markup():
    html = render_markdown('<b onclick="x()">hi</b>')
    assert "<b" not in html
    assert '&lt;b onclick="x()"&gt;hi&lt;/b&gt;' in html


def test_images_are_dropped():
    assert "<img" not in render_markdown("![logo](https://example.org/logo.png)")


def test_empty_text_renders_nothing():
    assert render_markdown("") == Markup("")
    assert render_markdown("  \n ") == Markup("")


def test_sanitiser_alone_strips_what_markdown_would_never_produce():
    html = sanitise_html('<p onclick="x()">a<script>alert(1)</script><iframe src="https://e.org"></iframe>'
                         '<a href="javascript:alert(1)">b</a><span style="color:red">c</span></p>')
    assert html == '<p>a<a rel="noopener noreferrer">b</a>c</p>'

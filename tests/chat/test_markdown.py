"""Rendering messages: markdown becomes a small, safe subset of HTML. Every XSS payload below comes out
without executable markup — checked by parsing the output as a browser would, not by string search
alone — and ordinary formatting, links and mentions still work."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from quanta.chat._markdown import ALLOWED_TAGS, mention_candidates, render_markdown, sanitize_html

SAFE_SCHEMES = ("http://", "https://", "mailto:")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "background", "poster"}


class _Elements(HTMLParser):
    """Every start tag with its attributes, as an HTML parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_inert(html: str) -> None:
    """No tag outside the allow-list, no event handler or style, every URL http(s) or mailto."""
    for tag, attributes in elements(html):
        assert tag in ALLOWED_TAGS, f"<{tag}> in {html!r}"
        for name, value in attributes.items():
            assert not name.startswith("on"), f"{name} on <{tag}> in {html!r}"
            assert name not in {"style", "srcdoc", "formaction"}, f"{name} on <{tag}> in {html!r}"
            if name in URL_ATTRIBUTES:
                assert value.strip().lower().startswith(SAFE_SCHEMES), f"{name}={value!r} in {html!r}"
        if tag == "a":
            assert attributes.get("rel") == "nofollow noopener noreferrer"


XSS = {
    "script tag": "<script>alert(1)</script>",
    "script tag, mixed case and spaces": "<ScRiPt >alert(document.cookie)</sCrIpT >",
    "img onerror": '<img src=x onerror="alert(1)">',
    "svg onload": "<svg/onload=alert(1)>",
    "svg with script": "<svg><script>alert(1)</script></svg>",
    "iframe javascript": '<iframe src="javascript:alert(1)"></iframe>',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "style tag": "<style>body{background:url(javascript:alert(1))}</style>",
    "style attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "event handler on allowed tag": '<a href="https://example.com" onclick="alert(1)">x</a>',
    "details ontoggle": "<details open ontoggle=alert(1)>",
    "markdown javascript link": "[click](javascript:alert(1))",
    "markdown javascript link, mixed case": "[click](JaVaScRiPt:alert(1))",
    "markdown javascript link, entity-encoded": "[click](jav&#x61;script&#58;alert(1))",
    "markdown javascript link, decimal entities": "[click](&#106;&#97;&#118;&#97;script:alert(1))",
    "markdown javascript link, percent-encoded": "[click](javascript%3Aalert(1))",
    "markdown javascript link, tab inside": "[click](java\tscript:alert(1))",
    "markdown javascript link, angle brackets": "[click](<javascript:alert(1)>)",
    "markdown javascript link, leading space": "[click]( javascript:alert(1))",
    "markdown reference javascript link": "[click][x]\n\n[x]: javascript:alert(1)",
    "autolink javascript": "<javascript:alert(1)>",
    "vbscript link": "[click](vbscript:msgbox(1))",
    "data html link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "markdown image onerror trick": '![x" onerror="alert(1)](https://example.com/x.png)',
    "markdown image javascript": "![x](javascript:alert(1))",
    "link title breaking out": '[x](https://example.com "a\\" onmouseover=\\"alert(1)")',
    "link href breaking out": '[x](https://example.com"onmouseover="alert(1))',
    "html entities of a tag": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "entity-encoded angle brackets in link text": "[&lt;img src=x onerror=alert(1)&gt;](https://example.com)",
    "html comment": "<!--><script>alert(1)</script>-->",
    "object and embed": '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    "form formaction": '<form><button formaction="javascript:alert(1)">x</button></form>',
    "math with href": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base href": '<base href="javascript:alert(1)//">',
    "code fence info string": '```"><script>alert(1)</script>\nx\n```',
    "mention-looking script": "@<script>alert(1)</script>",
}


@pytest.mark.parametrize("payload", XSS.values(), ids=XSS.keys())
def test_xss_payloads_render_without_executable_markup(payload: str) -> None:
    html = render_markdown(payload, mentions={"olga"}).html

    assert_inert(html)
    assert "<script" not in html.lower()
    assert "<svg" not in html.lower()
    for _, attributes in elements(html):
        for value in attributes.values():
            assert not value.strip().lower().startswith(("javascript", "vbscript", "data")), html


RAW_HTML = [payload for payload in XSS.values() if payload.lstrip().startswith("<")]


@pytest.mark.parametrize("payload", RAW_HTML)
def test_the_sanitiser_alone_also_disarms_raw_html(payload: str) -> None:
    # Defence in depth: markdown-it never emits these tags, but were it to, nh3 would still cut them.
    html = sanitize_html(payload)

    assert_inert(html)
    assert "<script" not in html.lower()


def test_the_sanitiser_keeps_the_allowed_subset() -> None:
    html = sanitize_html(
        '<p><a href="https://example.com" target="_top" rel="opener">x</a>'
        '<span class="mention evil">@o</span><span class="mention">@p</span><img src="https://example.com/i.png"></p>'
    )

    assert html == (
        '<p><a href="https://example.com" rel="nofollow noopener noreferrer">x</a><span>@o</span>'
        '<span class="mention">@p</span></p>'
    )


def test_there_are_many_payloads() -> None:
    assert len(XSS) >= 15


def test_formatting_renders_to_the_allowed_tags() -> None:
    body = (
        "**bold** _it_ ~~gone~~ `code`\nnext line\n\n> quoted\n\n- a\n- b\n\n3. three\n\n"
        "```python\nx = 1\n```"
    )

    html = render_markdown(body).html

    assert "<strong>bold</strong>" in html
    assert "<em>it</em>" in html
    assert "<s>gone</s>" in html
    assert "<code>code</code><br>" in html
    assert "<blockquote>" in html
    assert "<li>a</li>" in html
    assert '<ol start="3">' in html
    assert '<pre><code class="language-python">x = 1\n</code></pre>' in html
    assert_inert(html)


def test_headings_and_images_stay_text_and_links() -> None:
    html = render_markdown("# Not a heading\n\n![chart](https://example.com/c.png)").html

    assert "<h1" not in html
    assert "# Not a heading" in html
    assert "<img" not in html
    assert '<a href="https://example.com/c.png" rel="nofollow noopener noreferrer">chart</a>' in html


def test_safe_links_keep_their_href_and_get_rel() -> None:
    body = (
        '[site](https://example.com/a?b=1&c=2 "Title") <http://example.org> <ada@example.com> '
        "[mail](mailto:x@y.z)"
    )

    found = [attrs for tag, attrs in elements(render_markdown(body).html) if tag == "a"]

    assert [a["href"] for a in found] == [
        "https://example.com/a?b=1&c=2",
        "http://example.org",
        "mailto:ada@example.com",
        "mailto:x@y.z",
    ]
    assert found[0]["title"] == "Title"
    assert {a["rel"] for a in found} == {"nofollow noopener noreferrer"}


def test_relative_and_other_scheme_links_are_text() -> None:
    html = render_markdown("[home](/settings) [ftp](ftp://example.com/f) [tel](tel:123)").html

    assert "<a" not in html
    assert "[home](/settings)" in html


def test_code_classes_other_than_a_language_are_dropped() -> None:
    html = render_markdown("```py thon\nx\n```").html

    assert '<code class="language-py">' in html
    assert_inert(html)


def test_mentions_are_marked_only_for_accepted_names() -> None:
    rendered = render_markdown("hi @Olga and @sam, not ada@example.com, not `@vic`", mentions={"olga", "vic"})

    assert rendered.mentions == ("olga",)
    assert '<span class="mention">@Olga</span>' in rendered.html
    assert "@sam" in rendered.html
    assert '<span class="mention">@sam</span>' not in rendered.html
    assert "<code>@vic</code>" in rendered.html


def test_mention_candidates_skip_addresses_code_and_non_usernames() -> None:
    body = "@olga @olga @Eddie-2 mail@vic.com `@sam` @x_y @-no (@ada) @" + "a" * 40

    assert mention_candidates(body) == ("olga", "eddie-2", "ada")


def test_a_predicate_can_decide_mentions() -> None:
    rendered = render_markdown("@olga @eddie", mentions=lambda name: name.startswith("e"))

    assert rendered.mentions == ("eddie",)

"""What a browser would make of a page, for the stored-XSS tests: hostile strings and an
HTML audit of active tags, handlers and script URLs."""

from __future__ import annotations

from html.parser import HTMLParser

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "img": "<img src=x onerror=alert(1)>",
    "svg": '"><svg onload=alert(1)>',
    "javascript_url": "javascript:alert(1)",
    "jinja": "{{7*7}}",
}
EVERYTHING = " ".join(HOSTILE.values())
ACTIVE_TAGS = {"script", "img", "svg", "iframe", "object", "embed", "base", "form", "link"}
# The plugin pages' own active tags (templates/web/*.html.j2), attribute for attribute:
# its one script file, its stylesheet, the Packages search form. Anything else is data.
OWN_TAGS = {
    ("script", (("src", "/updraft/static/updraft.js"), ("defer", None))),
    ("link", (("rel", "stylesheet"), ("href", "/updraft/static/updraft.css"))),
    ("form", (("class", "filters"), ("method", "get"), ("action", "/updraft/packages"))),
}

class Audit(HTMLParser):
    """What a browser would make of a page: active tags, handlers, script URLs, text."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.active: list[str] = []
        self.handlers: list[str] = []
        self.script_urls: list[str] = []
        self.links: list[str] = []
        self.chunks: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_TAGS and (tag, tuple(attrs)) not in OWN_TAGS:
            self.active.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}")
            if name in ("href", "src", "action", "formaction", "xlink:href"):
                self.links.append(value or "")
                if (value or "").strip().lower().startswith(("javascript:", "data:", "vbscript:")):
                    self.script_urls.append(value or "")

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def assert_inert(self) -> None:
        assert not self.active, f"active tags from data: {self.active}"
        assert not self.handlers, f"event handlers from data: {self.handlers}"
        assert not self.script_urls, f"script URLs from data: {self.script_urls}"

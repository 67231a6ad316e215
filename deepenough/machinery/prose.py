"""A page's prose as the book renders it, read with MyST's own Markdown parser (markdown-it-py).

Each block of text the reader sees is one ``Block``: a paragraph, a list item's paragraph, a heading, a
table cell, a block quote (its paragraphs joined), or the same inside a directive's body (a figure's
caption, an admonition). Front matter, code cells and other code-like directives, directive options,
display math and HTML comments are not prose. Within a block, roles (``{glue:text}`…```), inline code,
inline math and link targets are blanked out, so positions still map to lines.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

CODE_DIRECTIVES = ("code-cell", "code", "code-block", "math", "eval-rst", "raw", "glue:md", "glue:text")
NOT_PROSE = re.compile(r"\{[\w:-]+\}`[^`]*`|`[^`]*`|\$[^$\n]*\$|(?<=\])\([^)]*\)")
KINDS = {"paragraph_open": "paragraph", "heading_open": "heading", "th_open": "table", "td_open": "table"}


@dataclass(frozen=True)
class Block:
    kind: str          # paragraph, list item, heading, table, quote
    line: int          # the line its text starts on (1-based)
    source: str        # the text as written
    in_directive: bool = False

    @property
    def text(self) -> str:
        """The text with roles, inline code, inline math and link targets blanked (positions kept)."""
        return NOT_PROSE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), self.source)

    def line_at(self, offset: int) -> int:
        """The line of the character at ``offset``."""
        return self.line + self.source.count("\n", 0, offset)

    @property
    def cites(self) -> bool:
        """Whether the block cites a paper (its numbers and quoted words are then taken to be the paper's)."""
        return bool(re.search(r"\{cite(?::\w+)?\}`", self.source))


@cache
def parser():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    return create_md_parser(MdParserConfig(enable_extensions={"dollarmath", "colon_fence"}), RendererHTML)


def directive_body(content: str) -> tuple[str, int]:
    """A directive's body without its options (``:key: value`` lines or a ``---`` YAML block), and how
    many lines were dropped before it."""
    lines = content.split("\n")
    skip = 0
    if lines and lines[0].strip() == "---":
        skip = next((i + 1 for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), len(lines))
    while skip < len(lines) and re.match(r"^:[\w-]+:", lines[skip]):
        skip += 1
    return "\n".join(lines[skip:]), skip


def blocks(text: str, first_line: int = 1, in_directive: bool = False) -> Iterator[Block]:
    """Every block of prose in ``text`` (MyST Markdown), in order."""
    tokens = parser().parse(text)
    quote: list[tuple[int, str]] = []
    quoting = listing = 0
    for i, token in enumerate(tokens):
        quoting += (token.type == "blockquote_open") - (token.type == "blockquote_close")
        listing += (token.type == "list_item_open") - (token.type == "list_item_close")
        if token.type == "blockquote_close" and not quoting and quote:
            yield Block("quote", quote[0][0], " ".join(s for _, s in quote), in_directive)
            quote = []
        elif token.type == "inline" and token.map:
            line = first_line + token.map[0]
            if quoting:
                quote.append((line, token.content))
                continue
            kind = KINDS.get(tokens[i - 1].type, "paragraph")
            yield Block("list item" if kind == "paragraph" and listing else kind, line, token.content, in_directive)
        elif token.type in ("fence", "colon_fence") and token.map:
            name = re.match(r"\{([\w:-]+)\}", token.info.strip())
            if name and name.group(1) not in CODE_DIRECTIVES:
                body, skipped = directive_body(token.content)
                yield from blocks(body, first_line + token.map[0] + 1 + skipped, True)

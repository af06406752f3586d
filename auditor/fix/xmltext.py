"""Edit XML metadata as text: change one element's value or insert one element, and leave every
other byte alone (indentation, line endings, the XML declaration, comments, attribute quoting).

The sources read documents with expat into plain Elements; here expat is used once more, for the
byte offsets of every tag, so that an edit is a splice of the original bytes rather than a
re-serialisation that would reformat the whole file. DTDs are refused exactly as the sources
refuse them (`auditor.sources.xmldoc.parse` is run first).
"""

from __future__ import annotations

import re
import xml.parsers.expat as expat
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from auditor.sources.xmldoc import parse

# What element text may hold besides characters: the five predefined entities and character
# references (a DOCTYPE, and so any other entity, is refused when the file is read).
_REFERENCE = re.compile(r"&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def decode_text(raw: str) -> str:
    """Element text as its characters: `&#10;` is a line break, as the XML reader sees it. (Only
    `&amp;`/`&lt;`/`&gt;` decoded would turn `&#10;` into `&amp;#10;` on the way back, changing the value.)"""
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name[0] != "#":
            return _ENTITIES[name]
        try:
            return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))
        except (ValueError, OverflowError):
            return match.group(0)
    return _REFERENCE.sub(one, raw)


def encode_text(value: str) -> str:
    """Characters as element text. A carriage return is written as `&#13;`: a raw one would be read
    back as a line feed."""
    return escape(value).replace("\r", "&#13;")


@dataclass
class Node:
    tag: str  # local name
    start: int  # offset of '<' of the start tag
    open_end: int  # offset just after the start tag's '>'
    close_start: int  # offset of '</' (== open_end for a self-closing element)
    end: int  # offset just after the element
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)

    @property
    def self_closing(self) -> bool:
        return self.close_start == self.open_end and self.end == self.open_end

    def find(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def find_all(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]


def _tag_end(data: bytes, start: int) -> int:
    """Offset just after the '>' closing the tag that starts at `start` (quotes respected)."""
    quote = 0
    for index in range(start, len(data)):
        byte = data[index]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in (0x22, 0x27):
            quote = byte
        elif byte == 0x3E:
            return index + 1
    return len(data)


def locate(data: bytes) -> Node:
    """The element tree of `data` with byte offsets. Raises XmlError as the sources do."""
    parse(data)  # same refusals and messages as the sources
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Node] = []
    roots: list[Node] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        begin = parser.CurrentByteIndex
        open_end = _tag_end(data, begin)
        node = Node(name.rpartition(":")[2], begin, open_end, open_end, open_end,
                    parent=stack[-1] if stack else None)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_name: str) -> None:
        node = stack.pop()
        here = parser.CurrentByteIndex
        if here >= node.open_end and data[here:here + 2] == b"</":
            node.close_start, node.end = here, _tag_end(data, here)
        # else: a self-closing element; its offsets are already right

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(data, True)
    return roots[0]


@dataclass(frozen=True)
class Splice:
    start: int
    end: int
    text: bytes


class Document:
    """One file's bytes, its element offsets and its formatting habits."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.root = locate(data)
        self.newline = b"\r\n" if b"\r\n" in data else b"\n"
        self.unit = self._indent_unit()

    # ------------------------------------------------------------------ formatting habits
    def indent_of(self, node: Node) -> bytes | None:
        """The whitespace before `node` on its line, or None when something else precedes it there."""
        line_start = self.data.rfind(b"\n", 0, node.start) + 1
        before = self.data[line_start:node.start]
        return before if not before.strip() else None

    def _indent_unit(self) -> bytes:
        for parent in [self.root, *self.root.children]:
            outer = self.indent_of(parent) if parent is not self.root else b""
            for child in parent.children:
                inner = self.indent_of(child)
                if outer is not None and inner is not None and inner.startswith(outer) and len(inner) > len(outer):
                    return inner[len(outer):]
        return b"    "

    def child_indent(self, parent: Node) -> bytes:
        for child in parent.children:
            indent = self.indent_of(child)
            if indent is not None:
                return indent
        return (self.indent_of(parent) or b"") + self.unit

    # ------------------------------------------------------------------ edits
    def text_of(self, node: Node) -> str:
        return decode_text(self.data[node.open_end:node.close_start].decode("utf-8"))

    def set_text(self, node: Node, value: str) -> Splice:
        encoded = encode_text(value).encode("utf-8")
        if node.self_closing:
            name = self.data[node.start + 1:node.open_end].split(b"/")[0].split()[0]
            return Splice(node.start, node.end, b"<" + name + b">" + encoded + b"</" + name + b">")
        return Splice(node.open_end, node.close_start, encoded)

    def element(self, tag: str, value: str | list[tuple[str, str]], indent: bytes) -> bytes:
        """`<tag>value</tag>`, or a container whose children are (tag, value) pairs, one per line."""
        if isinstance(value, str):
            return f"<{tag}>{encode_text(value)}</{tag}>".encode()
        inner = indent + self.unit
        lines = [f"<{tag}>".encode()]
        lines += [inner + f"<{name}>{encode_text(text)}</{name}>".encode() for name, text in value]
        lines.append(indent + f"</{tag}>".encode())
        return self.newline.join(lines)

    def insert(self, parent: Node, tag: str, value: str | list[tuple[str, str]], order: tuple[str, ...],
               after: Node | None = None) -> Splice:
        """A new child of `parent` where the schema `order` puts it: after the last child that sorts
        at or before it (or after `after`), else before the first that sorts after it."""
        rank = order.index(tag) if tag in order else len(order)
        previous = after
        if previous is None:
            for child in parent.children:
                if child.tag in order and order.index(child.tag) <= rank:
                    previous = child
        indent = self.child_indent(parent)
        if previous is not None:
            own = self.indent_of(previous)
            indent = own if own is not None else indent
            return Splice(previous.end, previous.end, self.newline + indent + self.element(tag, value, indent))
        following = next((c for c in parent.children if c.tag in order and order.index(c.tag) > rank), None)
        if following is None and parent.children:
            following = parent.children[0]
        if following is not None:
            own = self.indent_of(following)
            if own is not None:
                return Splice(following.start, following.start,
                              self.element(tag, value, own) + self.newline + own)
            return Splice(following.start, following.start, self.element(tag, value, indent))
        # an empty parent: <oauthPolicy></oauthPolicy> or <oauthPolicy/>
        outer = self.indent_of(parent) or b""
        body = self.newline + indent + self.element(tag, value, indent) + self.newline + outer
        if parent.self_closing:
            name = self.data[parent.start + 1:parent.open_end].rstrip(b"/>").rstrip(b"/").split()[0]
            opening = self.data[parent.start:parent.open_end].rstrip(b">").rstrip().rstrip(b"/").rstrip() + b">"
            return Splice(parent.start, parent.end, opening + body + b"</" + name + b">")
        return Splice(parent.open_end, parent.close_start, body)


def apply_splices(data: bytes, splices: list[Splice]) -> bytes:
    """Apply non-overlapping splices; inserts at the same offset keep the order given."""
    ordered = sorted(enumerate(splices), key=lambda item: (item[1].start, item[1].end, item[0]))
    out, cursor = [], 0
    for _index, splice in ordered:
        if splice.start < cursor:
            raise ValueError("overlapping edits")
        out.append(data[cursor:splice.start])
        out.append(splice.text)
        cursor = splice.end
    out.append(data[cursor:])
    return b"".join(out)

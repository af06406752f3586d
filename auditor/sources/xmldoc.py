"""Safe, small XML reading with line numbers.

We use the standard library's expat binding rather than lxml: it gives line and column for
every element, costs about a millisecond to import (lxml costs ~35 ms, a third of our start-up
budget for the pre-commit hook), and lets us refuse DTDs outright. Metadata files never need a
DOCTYPE, so any document that declares one is rejected before an entity can be expanded, and
external entities are never fetched (no handler is installed for them).
"""

from __future__ import annotations

import xml.parsers.expat as expat


class XmlError(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Element:
    """A parsed element. A plain slotted class: a large scan builds hundreds of thousands."""

    __slots__ = ("tag", "line", "column", "text", "children")

    def __init__(self, tag: str, line: int, column: int) -> None:
        self.tag = tag  # local name, any prefix stripped
        self.line = line
        self.column = column  # 1-based
        self.text = ""
        self.children: list[Element] = []

    def find(self, tag: str) -> Element | None:
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def find_all(self, tag: str) -> list[Element]:
        return [child for child in self.children if child.tag == tag]


class _Refused(Exception):
    pass


def parse(data: bytes) -> Element:
    """Parse a document into Elements; raise XmlError with the line on any problem."""
    if not data.strip():
        raise XmlError("the file is empty", 1)
    # Metadata uses one default namespace, so names arrive unprefixed; no namespace processing
    # (it costs a string split per element). A prefixed name is reduced to its local part.
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    root: list[Element] = []

    def refuse_doctype(*_args: object) -> None:
        raise _Refused("a DOCTYPE declaration is not allowed in metadata files (DTDs and entities are refused)")

    def refuse_entity(*_args: object) -> None:
        raise _Refused("an entity declaration is not allowed in metadata files")

    def start(name: str, _attrs: dict[str, str]) -> None:
        if ":" in name:
            name = name.rpartition(":")[2]
        element = Element(name, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        if stack:
            stack[-1].children.append(element)
        else:
            root.append(element)
        stack.append(element)

    def end(_name: str) -> None:
        stack.pop()

    def characters(text: str) -> None:
        # buffer_text delivers an element's text in one piece, so concatenation is rare.
        if stack:
            stack[-1].text += text

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except _Refused as refused:
        raise XmlError(str(refused), parser.CurrentLineNumber) from None
    except expat.ExpatError as error:
        if _not_utf8(data):
            raise XmlError("the file is not valid UTF-8 text", error.lineno) from None
        raise XmlError(f"malformed XML: {expat.ErrorString(error.code)}", error.lineno) from None
    if not root:
        raise XmlError("no root element", 1)
    return root[0]


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def etree_from_bytes(data: bytes):
    """xml.etree for responses (SOAP), with the same refusal of DTDs as `parse`.

    The C ElementTree parser does not expose expat's declaration handlers, so a document is
    refused when it contains a DOCTYPE at all; a value can only carry that text escaped.
    """
    import xml.etree.ElementTree as ET

    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmlError("a DOCTYPE or entity declaration is not allowed (DTDs and entities are refused)")
    return ET.fromstring(data)

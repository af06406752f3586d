"""Safe, small XML reading with line numbers.

We use the standard library's expat binding rather than lxml: it gives line and column for
every element, costs about a millisecond to import (lxml costs ~35 ms, a third of our start-up
budget for the pre-commit hook), and lets us refuse DTDs outright. Metadata files never need a
DOCTYPE, so any document that declares one is rejected before an entity can be expanded, and
external entities are never fetched (no handler is installed for them).

Nothing in a document may change what the mapping reads without being said: a document that is
not UTF-8 (whatever it declares), an unbound namespace prefix, an element in another namespace
than its root's, a second copy of an element the mapping reads once (`Element.find`), and a
boolean element (`is…`) holding anything but true / false are each an XmlError with the line.
"""

from __future__ import annotations

import re
import xml.parsers.expat as expat

METADATA_NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_BOOLEAN_ELEMENT = re.compile(r"is[A-Z]")
BOOLEAN_WORDS = ("true", "false", "1", "0")


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
        """The one child of this name. A second one is an error: a duplicated `isAdminApproved`
        (true, then false) must not let either value win silently."""
        found = None
        for child in self.children:
            if child.tag == tag:
                if found is not None:
                    raise XmlError(f"<{tag}> appears more than once in <{self.tag}> (first on line {found.line})",
                                   child.line)
                found = child
        return found

    def find_all(self, tag: str) -> list[Element]:
        return [child for child in self.children if child.tag == tag]


def require_single(root: Element, tags: tuple[str, ...]) -> None:
    """Refuse a second copy of any of these children of `root` (XmlError with its line)."""
    for tag in tags:
        root.find(tag)


def boolean(element: Element | None, default: bool | None) -> bool | None:
    """A boolean element's value (`default` when absent); anything but true / false / 1 / 0 is an error."""
    if element is None:
        return default
    word = element.text.strip().lower()
    if word not in BOOLEAN_WORDS:
        raise XmlError(f"<{element.tag}> must be true or false", element.line)
    return word in ("true", "1")


class _Refused(Exception):
    pass


def parse(data: bytes) -> Element:
    """Parse a document into Elements; raise XmlError with the line on any problem."""
    if not data.strip():
        raise XmlError("the file is empty", 1)
    _require_utf8(data)
    # Namespace processing: names arrive as "uri local" (or "local" with no namespace), so an
    # unbound prefix is a parse error and a foreign namespace is seen.
    parser = expat.ParserCreate("UTF-8", namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    root: list[Element] = []
    namespace: list[str] = []

    def refuse_doctype(*_args: object) -> None:
        raise _Refused("a DOCTYPE declaration is not allowed in metadata files (DTDs and entities are refused)")

    def refuse_entity(*_args: object) -> None:
        raise _Refused("an entity declaration is not allowed in metadata files")

    def start(name: str, _attrs: dict[str, str]) -> None:
        uri, _, local = name.rpartition(" ")
        element = Element(local, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        if stack:
            if uri != namespace[0]:
                raise _Refused(f"<{local}> is in another namespace than <{root[0].tag}>; metadata elements "
                               f"belong to {namespace[0] or 'no namespace'}")
            stack[-1].children.append(element)
        else:
            if uri not in ("", METADATA_NAMESPACE):
                raise _Refused(f"<{local}> is not in the Salesforce metadata namespace ({METADATA_NAMESPACE})")
            namespace.append(uri)
            root.append(element)
        stack.append(element)

    def end(_name: str) -> None:
        element = stack.pop()
        if _BOOLEAN_ELEMENT.match(element.tag) and not element.children and \
                element.text.strip().lower() not in BOOLEAN_WORDS:
            raise _Refused(f"<{element.tag}> must be true or false")

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
        raise XmlError(f"malformed XML: {expat.ErrorString(error.code)}", error.lineno) from None
    if not root:
        raise XmlError("no root element", 1)
    return root[0]


def _require_utf8(data: bytes) -> None:
    """Metadata files are UTF-8. UTF-16 (with its BOM) and Latin-1, declared or not, are refused
    before parsing: expat would otherwise honour the declaration and read the file."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise XmlError("the file is not valid UTF-8 text", line) from None
    declared = _DECLARED_ENCODING.match(data.removeprefix(b"\xef\xbb\xbf")[:256])  # the declaration only
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise XmlError("the file declares an encoding other than UTF-8; metadata files are UTF-8", 1)


def etree_from_bytes(data: bytes):
    """xml.etree for responses (SOAP), with the same refusal of DTDs as `parse`.

    The C ElementTree parser does not expose expat's declaration handlers, so a document is
    refused when it contains a DOCTYPE at all; a value can only carry that text escaped.
    """
    import xml.etree.ElementTree as ET

    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmlError("a DOCTYPE or entity declaration is not allowed (DTDs and entities are refused)")
    return ET.fromstring(data)

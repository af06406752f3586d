"""Set model fields together with the source location of the element they came from."""

from __future__ import annotations

import re
from collections.abc import Mapping

from auditor.certificates import certificate_der, inspect_certificate
from auditor.model import App, Location
from auditor.sources.xmldoc import Element, boolean

# Matched against the value with its surrounding whitespace stripped first: `\s*(…)?\s*` around the
# alternatives backtracks quadratically on a long run of spaces, and `\{+[^{}]*\}+` on a long run of
# braces, so braces are matched in two linear steps instead.
_PLACEHOLDER = re.compile(
    r"\$\{[^}]*\}|<[^>]*>|%[A-Za-z_]+%|your[_ -].*|change[_ -]?me|placeholder.*|x{3,}|\*{3,}",
    re.IGNORECASE,
)
_BRACED = re.compile(r"\{[^{}]*\}")


def is_placeholder(text: str) -> bool:
    """Empty, or a value a template engine or a human is meant to replace."""
    value = text.strip()
    if not value or _PLACEHOLDER.fullmatch(value) is not None:
        return True
    # `{SECRET}`, `{{ secret }}`: braces around a brace-free body
    inner = value.lstrip("{")
    opened = len(value) - len(inner)
    body = inner.rstrip("}")
    closed = len(inner) - len(body)
    return opened > 0 and closed > 0 and _BRACED.fullmatch("{" + body + "}") is not None


class FieldWriter:
    def __init__(self, app: App, path: str) -> None:
        self.app = app
        self.path = path

    def loc(self, element: Element | None) -> Location | None:
        if element is None:
            return None
        return Location.at(self.path, element.line, element.column)

    def at(self, field_name: str, element: Element) -> None:
        self.app.locations[field_name] = Location.at(self.path, element.line, element.column)

    def text(self, field_name: str, element: Element | None, fallback: Element | None = None) -> None:
        value = element.text.strip() if element is not None and element.text.strip() else None
        self.app.set(field_name, value, self.loc(element or fallback))

    def flag(self, field_name: str, element: Element | None, default: bool | None, fallback: Element) -> None:
        """A boolean flag with the default Salesforce applies when the element is absent."""
        self.app.set(field_name, boolean(element, default), self.loc(element or fallback))

    def flags(self, parent: Element, table: Mapping[str, tuple[str, bool | None]]) -> None:
        for element_name, (field_name, default) in table.items():
            self.flag(field_name, parent.find(element_name), default, parent)

    def secrets_present(self, parent: Element) -> None:
        """Whether a real consumer key / secret is committed; their values are never kept.
        Template placeholders (`{SECRET}`, `${CLIENT_SECRET}`, `YOUR_…`) are not secrets."""
        for element_name, field_name in (("consumerKey", "oauth.consumer_key_in_source"),
                                         ("consumerSecret", "oauth.consumer_secret_in_source")):
            element = parent.find(element_name)
            committed = element is not None and not is_placeholder(element.text)
            self.app.set(field_name, committed, self.loc(element or parent))

    def list_of(self, field_name: str, elements: list[Element], fallback: Element) -> None:
        # An empty <profileName/> is how a deploy clears all assignments (S3): not a name.
        values = [e.text.strip() for e in elements if e.text.strip()]
        self.app.set(field_name, values, self.loc(elements[0] if elements else fallback))

    def certificate(self, element: Element | None, fallback: Element) -> None:
        """The signing certificate. A template placeholder or a Certificate record's name is
        something, but not a certificate that can be read: its facts stay unknown (null)."""
        text = element.text.strip() if element is not None else ""
        location = self.loc(element or fallback)
        self.app.set("oauth.has_certificate", bool(text), location)
        form = certificate_form(text)
        facts = inspect_certificate(text).as_fields() if form == "pem" else dict.fromkeys(_CERT_FIELDS)
        if form == "name":  # S3 expects the PEM; whether a record name is accepted is UNCONFIRMED
            facts["oauth.certificate.problems"] = ["a name, not a certificate (PEM-encoded certificate expected)"]
        for name, value in {**facts, "oauth.certificate.form": form}.items():
            self.app.set(name, value, location)


# A Certificate record's developer name (letters, digits, underscores), as some public examples put
# in the certificate field instead of the certificate itself.
_CERTIFICATE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")


def certificate_form(text: str) -> str | None:
    """pem, placeholder or name for a non-empty certificate field, None for an empty one."""
    if not text:
        return None
    if is_placeholder(text):
        return "placeholder"
    if _CERTIFICATE_NAME.fullmatch(text) and certificate_der(text) is None:
        return "name"
    return "pem"


_CERT_FIELDS = (
    "oauth.certificate.problems",
    "oauth.certificate.parseable",
    "oauth.certificate.expires_in_days",
    "oauth.certificate.key_bits",
    "oauth.certificate.key_type",
    "oauth.certificate.signature_hash",
)

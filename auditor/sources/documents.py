"""Any set of metadata documents → Apps, each document dispatched on its root element.

Files on disk and documents read from an org go through this one entry, so both are mapped by
exactly the same code.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.model import InputError
from auditor.sources import SourceResult, external_client_app, org_settings
from auditor.sources.connected_app import connected_app
from auditor.sources.xmldoc import Element, XmlError, parse


def apps_from_documents(documents: Iterable[tuple[str, bytes]]) -> SourceResult:
    """Map (relative path, XML bytes) pairs of ConnectedApp and ECA documents to Apps."""
    result = SourceResult()
    eca_parts: list[tuple[str, Element]] = []
    settings: list[tuple[str, Element]] = []
    for path, data in documents:
        try:
            root = parse(data)
        except XmlError as error:
            result.errors.append(InputError(path, error.line, error.message))
            continue
        if root.tag == "ConnectedApp":
            try:  # mapping reads single-valued elements with Element.find, which refuses duplicates
                result.apps.append(connected_app(root, path))
            except XmlError as error:
                result.errors.append(InputError(path, error.line, error.message))
        elif root.tag in external_client_app.PART_TYPES:
            try:
                external_client_app.check_part(root)
            except XmlError as error:
                result.errors.append(InputError(path, error.line, error.message))
                continue
            eca_parts.append((path, root))
        elif root.tag == org_settings.ROOT:
            try:
                org_settings.check(root)
            except XmlError as error:
                result.errors.append(InputError(path, error.line, error.message))
                continue
            settings.append((path, root))
        else:
            expected = "ConnectedApp, an External Client App part or OauthOidcSettings"
            result.errors.append(
                InputError(path, root.line, f"unexpected root element <{root.tag}>; expected {expected}")
            )
    result.extend(external_client_app.join(eca_parts))
    org_settings.apply(result.apps, settings)
    return result

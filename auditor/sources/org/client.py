"""One org connection: a requests session honouring REQUESTS_CA_BUNDLE, bounded retries with backoff
on transient failures, SOQL with paging, and Metadata SOAP calls.

Metadata SOAP calls are posted on our own requests session rather than through `sf.mdapi`: zeep
builds its own session (so the CA bundle, timeouts and proxies we set are ignored — simple-salesforce
#686), parses a 1.5 MB WSDL per client, and drops elements newer than its bundled WSDL.

Imported only when an org is read: simple-salesforce costs ~0.2 s to import.
"""

from __future__ import annotations

import functools
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
)

from auditor.sources.org.auth import OrgCredentials
from auditor.sources.xmldoc import XmlError, etree_from_bytes

MD_NS = "http://soap.sforce.com/2006/04/metadata"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TRANSIENT_CODES = ("REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE")
# OauthToken: query()/queryMore() return at most 2,500 rows (salesforce-facts.md §3.4); whether the
# API then says done=true with a lower totalSize is not documented, so reaching the cap is unread.
ROW_CAPS = {"OauthToken": 2500}


class OrgReadError(Exception):
    """The org could not be read at all (expired session, no access). Never contains a secret."""


class Fatal(Exception):
    """Stops the whole read: every later call would fail the same way (an expired session)."""


class Transient(Exception):
    """A call that kept failing transiently until the attempts ran out."""


def make_session() -> requests.Session:
    """One session for every call (REST, Metadata SOAP, token endpoint), honouring REQUESTS_CA_BUNDLE."""
    session = requests.Session()
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    return session


class OrgClient:
    """REST and Metadata SOAP calls on one session. `fatal` is shared by every thread of a pull: once
    set, calls stop instead of hammering an org that has already refused the session."""

    def __init__(self, credentials: OrgCredentials, session: requests.Session, *, api_version: str,
                 timeout: tuple[float, float], attempts: int, backoff: float):
        self.credentials = credentials
        self.session = session
        self.sf = Salesforce(instance_url=credentials.instance_url, session_id=credentials.access_token,
                             session=session, version=api_version)
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.fatal: str | None = None

    def call(self, fn: Callable[[], Any]) -> Any:
        """Bounded retries with exponential backoff on transient failures; an expired session is fatal."""
        for attempt in range(1, self.attempts + 1):
            if self.fatal:
                raise Fatal(self.fatal)
            try:
                return fn()
            except SalesforceExpiredSession:
                raise Fatal(expired_message(self.credentials)) from None
            except (SalesforceError, SoapFault, requests.RequestException, ValueError) as error:
                if not is_transient(error):
                    raise
                if attempt == self.attempts:
                    raise Transient(describe(error)) from None
                time.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        page = self.call(lambda: self.sf.query(soql, timeout=self.timeout))
        rows = list(page.get("records", []))
        total = page.get("totalSize", len(rows))
        while not page.get("done", True):
            next_url = page.get("nextRecordsUrl")
            if not next_url:
                raise ValueError(f"a query page said more records follow but gave no nextRecordsUrl "
                                 f"({len(rows)} of {total} read)")
            page = self.call(functools.partial(self.sf.query_more, next_url, identifier_is_url=True,
                                               timeout=self.timeout))
            rows.extend(page.get("records", []))
        if len(rows) < total:
            raise ValueError(f"the query returned {len(rows)} of {total} records")
        cap = next((n for obj, n in ROW_CAPS.items() if f" FROM {obj}" in soql), None)
        if cap is not None and len(rows) >= cap:
            raise ValueError(f"the query returned {len(rows)} records, the documented maximum for this object, "
                             "so some may be missing")
        return [strip_attributes(r) for r in rows]

    def count(self, soql: str) -> int:
        """SELECT COUNT(): the answer is a number in totalSize, with no rows."""
        page = self.call(lambda: self.sf.query(soql, timeout=self.timeout))
        total = page.get("totalSize")
        if not isinstance(total, int) or page.get("records"):
            raise ValueError("a COUNT() query did not answer with a number")
        return total

    def soap(self, operation: str) -> ET.Element:
        envelope = (
            f'<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="{SOAP_NS}" xmlns="{MD_NS}">'
            f"<env:Header><SessionHeader><sessionId>{escape(self.credentials.access_token)}</sessionId>"
            f"</SessionHeader></env:Header><env:Body>{operation}</env:Body></env:Envelope>"
        )

        def post() -> ET.Element:
            response = self.session.post(
                self.sf.metadata_url, data=envelope.encode(), timeout=self.timeout,
                headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
            )
            try:
                root = etree_from_bytes(response.content)
            except XmlError as refused:
                raise ValueError(f"the Metadata API answer was refused: {refused.message}") from None
            except ET.ParseError:
                if response.status_code >= 500:
                    raise SoapFault(f"HTTP{response.status_code}", f"HTTP {response.status_code} without a SOAP "
                                    "body", transient=True) from None
                raise ValueError(f"the Metadata API answered HTTP {response.status_code} with a body that "
                                 "is not XML (truncated?)") from None
            fault = root.find(f".//{{{SOAP_NS}}}Fault")
            if fault is not None:
                code = (fault.findtext("faultcode") or "").split(":")[-1]
                raise SoapFault(code, (fault.findtext("faultstring") or code).strip())
            if response.status_code != 200:
                raise SoapFault(f"HTTP{response.status_code}", f"HTTP {response.status_code}",
                                transient=response.status_code >= 500)
            return root

        try:
            return self.call(post)
        except SoapFault as fault:
            if fault.code == "INVALID_SESSION_ID":
                raise Fatal(expired_message(self.credentials)) from None
            raise


class SoapFault(Exception):
    def __init__(self, code: str, message: str, transient: bool | None = None):
        super().__init__(message)
        self.code = code
        self.transient = code in TRANSIENT_CODES if transient is None else transient


def strip_attributes(row: Any) -> Any:
    if isinstance(row, dict):
        return {k: strip_attributes(v) for k, v in row.items() if k != "attributes"}
    return row


def row_key(row: dict[str, Any]) -> str:
    import json

    return json.dumps(row, sort_keys=True, default=str)


def error_code(error: Exception) -> str | None:
    content = getattr(error, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode")
    if isinstance(error, SoapFault):
        return error.code
    return None


def is_transient(error: Exception) -> bool:
    if isinstance(error, SoapFault):
        return error.transient
    if isinstance(error, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                          requests.exceptions.ContentDecodingError)):
        return True
    if isinstance(error, requests.exceptions.JSONDecodeError):
        return True  # a body cut short does not parse: read it again
    if isinstance(error, SalesforceGeneralError) and getattr(error, "status", 0) >= 500:
        return True
    return error_code(error) in TRANSIENT_CODES


def describe(error: Exception) -> str:
    if isinstance(error, SoapFault):
        return f"Metadata API fault {error.code}: {error}"
    if isinstance(error, SalesforceError):
        code = error_code(error)
        content = getattr(error, "content", None)
        message = content[0].get("message", "") if isinstance(content, list) and content and \
            isinstance(content[0], dict) else str(content)[:200]
        return f"HTTP {getattr(error, 'status', '?')} {code or ''}: {message.strip()}".replace("  ", " ")
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS certificate verification failed (set REQUESTS_CA_BUNDLE to your CA bundle if a proxy " \
               "re-signs traffic)"
    if isinstance(error, requests.RequestException):
        return f"connection failed ({type(error).__name__})"
    return str(error)


def expired_message(credentials: OrgCredentials) -> str:
    how = credentials.source
    again = "log in again (sf org login web …) and rerun" if how.startswith("Salesforce CLI") \
        else "get a fresh access token and rerun"
    return f"the session for {credentials.target} is expired or invalid (INVALID_SESSION_ID); {again}"

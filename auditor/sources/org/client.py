"""One org connection: a requests session honouring REQUESTS_CA_BUNDLE, bounded retries with backoff
on transient failures, SOQL with paging, and Metadata SOAP calls.

Metadata SOAP calls are posted on our own requests session rather than through `sf.mdapi`: zeep
builds its own session (so the CA bundle, timeouts and proxies we set are ignored — simple-salesforce
#686), parses a 1.5 MB WSDL per client, and drops elements newer than its bundled WSDL.

Imported only when an org is read: simple-salesforce costs ~0.2 s to import.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

import requests
import urllib3
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
)

from auditor.sources.org.auth import OrgCredentials
from auditor.sources.org.redact import redact, redact_url
from auditor.sources.xmldoc import XmlError, etree_from_bytes

MD_NS = "http://soap.sforce.com/2006/04/metadata"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TRANSIENT_CODES = ("REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE")
# OauthToken: query()/queryMore() return at most 2,500 rows (salesforce-facts.md §3.4); whether the
# API then says done=true with a lower totalSize is not documented, so reaching the cap is unread.
ROW_CAPS = {"OauthToken": 2500}


# Bounds on what one org answer may cost (each overridable in the environment, and in PullSettings):
# a request ends within DEADLINE seconds in all, headers and body, however slowly bytes arrive; an
# answer holds at most MAX_RESPONSE_BYTES (after decompression); a query has at most MAX_PAGES pages.
DEADLINE = 300.0
MAX_RESPONSE_BYTES = 64 * 2**20
MAX_PAGES = 2000
# A query locator on the same instance, as Salesforce writes it: /services/data/v66.0/query/01g…-2000.
NEXT_RECORDS_URL = re.compile(r"/services/data/v\d{1,3}\.\d/(?:tooling/)?query(?:All)?/[0-9A-Za-z_-]{1,128}")


def env_number(name: str, default: float) -> float:
    """A positive number from the environment, else `default`."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class OrgReadError(Exception):
    """The org could not be read at all (expired session, no access). Never contains a secret."""


class Fatal(Exception):
    """Stops the whole read: every later call would fail the same way (an expired session)."""


class Transient(Exception):
    """A call that kept failing transiently until the attempts ran out."""


class Refused(requests.RequestException):
    """An answer we will not read (too slow, too large, a redirect, the wrong content type). The
    message names the endpoint and the reason, never a secret."""


class DeadlineExceeded(Refused):
    pass


class ResponseTooLarge(Refused):
    pass


class RedirectRefused(Refused):
    pass


class WrongContentType(Refused):
    pass


class OrgAnswerError(ValueError):
    """An org answer of the wrong shape: what it should have been, never its content."""


def make_session() -> GuardedSession:
    """One session for every call (REST, Metadata SOAP, token endpoint), honouring REQUESTS_CA_BUNDLE."""
    session = GuardedSession(deadline=env_number("CA_AUDIT_HTTP_DEADLINE", DEADLINE),
                             max_bytes=int(env_number("CA_AUDIT_MAX_RESPONSE_BYTES", MAX_RESPONSE_BYTES)))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.mount("https://", _WatchedAdapter(pool_connections=4, pool_maxsize=16, max_retries=0))
    return session


class GuardedSession(requests.Session):
    """A session that reads an answer only within bounds: https only, no redirect followed (a
    307 would replay the SOAP body with the session id, or the JWT assertion, to wherever it
    points), a wall-clock deadline over the whole request, a cap on the body, and the content type
    each Salesforce endpoint answers with."""

    def __init__(self, *, deadline: float = DEADLINE, max_bytes: int = MAX_RESPONSE_BYTES):
        super().__init__()
        self.deadline = deadline
        self.max_bytes = max_bytes
        # A response hook runs inside Session.send before any redirect handling (which would read
        # the redirect's body uncapped): every answer is checked there.
        self.hooks["response"].append(self._check_answer)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        where = _endpoint(url)
        if not url.lower().startswith("https://"):
            raise Refused(f"refusing to send a request to {where} over plain http; Salesforce is https only")
        kwargs["allow_redirects"] = False
        kwargs["stream"] = True
        watch = _Watch()
        _watches.current = watch
        timer = threading.Timer(self.deadline, watch.fire)
        timer.daemon = True
        timer.start()
        response: requests.Response | None = None
        try:
            response = super().send(request, **kwargs)
        except Refused:
            if response is not None:
                response.close()
            raise
        except Exception:
            if response is not None:
                response.close()
            if watch.fired:
                raise DeadlineExceeded(self._too_slow(where)) from None
            raise
        finally:
            timer.cancel()
            _watches.current = None
        if watch.fired:
            raise DeadlineExceeded(self._too_slow(where))
        return response

    def _check_answer(self, response: requests.Response, **_kwargs: Any) -> requests.Response:
        url = response.request.url or ""
        where = _endpoint(url)
        try:
            _refuse_redirect(response, url, where)
            self._read_body(response, where)
            _check_content_type(response, url, where)
        except Exception:
            response.close()
            raise
        return response

    def _too_slow(self, where: str) -> str:
        return f"{where} did not answer in full within {self.deadline:g} s (CA_AUDIT_HTTP_DEADLINE)"

    def _read_body(self, response: requests.Response, where: str) -> None:
        too_large = f"the answer from {where} is larger than {self.max_bytes} bytes (CA_AUDIT_MAX_RESPONSE_BYTES)"
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise ResponseTooLarge(too_large)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(65536):
            size += len(chunk)
            if size > self.max_bytes:
                raise ResponseTooLarge(too_large)
            chunks.append(chunk)
        response._content = b"".join(chunks)


def _endpoint(url: str) -> str:
    """How messages name a request: scheme, host and path, no user information and no query."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an invalid URL"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return f"{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}"
    except ValueError:
        return "an invalid URL"


def _refuse_redirect(response: requests.Response, url: str, where: str) -> None:
    if not 300 <= response.status_code < 400:
        return
    from urllib.parse import urljoin

    location = response.headers.get("Location", "")
    target = _host(urljoin(url, location)) if location else "nowhere"
    other = "another host, " if target != _host(url) else ""
    raise RedirectRefused(f"{where} answered HTTP {response.status_code} redirecting to {other}{target}; "
                          "ca-audit follows no redirect (the request carries a session id or a JWT assertion)")


def _check_content_type(response: requests.Response, url: str, where: str) -> None:
    """Salesforce answers REST and OAuth calls with JSON and Metadata SOAP calls with XML; a 2xx
    answer in anything else (a proxy's HTML page) is not the org's answer."""
    if not 200 <= response.status_code < 300 or not response.content:
        return
    path = _endpoint(url)
    accepted: tuple[str, ...]
    if "/services/Soap/" in path:
        expected, accepted = "XML", ("text/xml", "application/xml", "application/soap+xml")
    elif "/services/data/" in path or path.endswith("/services/oauth2/token"):
        expected, accepted = "JSON", ("application/json",)
    else:
        return
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind not in accepted:
        raise WrongContentType(f"{where} answered HTTP {response.status_code} with {kind or 'no content type'} "
                               f"instead of {expected}")


class _Watch:
    """Cuts the connection of one request when its deadline passes, whatever the request is
    waiting for (headers or body, one byte at a time): read timeouts only bound each read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connection: Any = None
        self.fired = False

    def attach(self, connection: Any) -> None:
        with self.lock:
            self.connection = connection
            fired = self.fired
        if fired:
            _cut(connection)

    def fire(self) -> None:
        with self.lock:
            self.fired = True
            connection = self.connection
        if connection is not None:
            _cut(connection)


def _cut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the TCP socket under TLS: wakes a blocked read
        except (OSError, TypeError):
            pass


_watches = threading.local()


class _WatchedConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = getattr(_watches, "current", None)
        if watch is not None:
            watch.attach(self)
        super().request(*args, **kwargs)


class _WatchedPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {**self.poolmanager.pool_classes_by_scheme, "https": _WatchedPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "https": _WatchedPool}
        return manager


class OrgClient:
    """REST and Metadata SOAP calls on one session. `fatal` is shared by every thread of a pull: once
    set, calls stop instead of hammering an org that has already refused the session."""

    def __init__(self, credentials: OrgCredentials, session: requests.Session, *, api_version: str,
                 timeout: tuple[float, float], attempts: int, backoff: float, max_pages: int = MAX_PAGES):
        self.credentials = credentials
        self.session = session
        # object_pairs_hook=None: answers parse into plain dicts (the default OrderedDict costs a fifth more
        # on tens of thousands of rows; key order is kept either way).
        self.sf = Salesforce(instance_url=credentials.instance_url, session_id=credentials.access_token,
                             session=session, version=api_version, object_pairs_hook=None)
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.max_pages = max_pages
        self.fatal: str | None = None

    def redact(self, text: str) -> str:
        """`text` fit to print or store: an org may echo the session id back in an error."""
        return redact(text, [self.credentials.access_token])

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
                if attempt == self.attempts and isinstance(error, requests.ConnectionError):
                    # Every other call would fail the same way: one error naming the org, not one per query.
                    raise Fatal(f"cannot reach {self.credentials.target}: {describe(error)} (gave up after "
                                f"{self.attempts} attempts)") from None
                if attempt == self.attempts:
                    raise Transient(describe(error)) from None
                time.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        fields = selected_fields(soql)
        page = query_page(self.call(lambda: self.sf.query(soql, timeout=self.timeout)), fields)
        rows = list(page["records"])
        total = page["totalSize"]
        seen: set[str] = set()
        pages = 1
        while not page["done"]:
            next_url = page.get("nextRecordsUrl")
            if not next_url:
                raise ValueError(f"a query page said more records follow but gave no nextRecordsUrl "
                                 f"({len(rows)} of {total} read)")
            if not isinstance(next_url, str) or not NEXT_RECORDS_URL.fullmatch(next_url):
                raise OrgAnswerError(f"a query page gave a nextRecordsUrl that is not a query locator on this "
                                     f"instance; not followed ({len(rows)} of {total} read)")
            if next_url in seen:
                raise OrgAnswerError(f"the query's nextRecordsUrl repeated an earlier page ({len(rows)} of {total} "
                                     "read)")
            if pages >= self.max_pages:
                raise OrgAnswerError(f"the query did not end within {self.max_pages} pages ({len(rows)} of {total} "
                                     "read; CA_AUDIT_MAX_PAGES)")
            seen.add(next_url)
            page = query_page(self.call(functools.partial(self.sf.query_more, next_url, identifier_is_url=True,
                                                          timeout=self.timeout)), fields)
            pages += 1
            rows.extend(page["records"])
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

    def soap(self, operation: str, expect: str) -> ET.Element:
        """Post one Metadata API call; the answer must be a SOAP envelope holding `expect` (or a fault)."""
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
            if root.tag != f"{{{SOAP_NS}}}Envelope" or root.find(f"{{{SOAP_NS}}}Body/{{{MD_NS}}}{expect}") is None:
                raise OrgAnswerError(f"the Metadata API answer is not a SOAP envelope holding a {expect}")
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


def selected_fields(soql: str) -> list[str]:
    """The field paths of one of our SELECTs (no functions or sub-queries in them)."""
    head = soql.split(" FROM ", 1)[0].removeprefix("SELECT ")
    return [f.strip() for f in head.split(",") if f.strip() and "(" not in f]


_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


def _kind(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def query_page(page: Any, fields: list[str]) -> dict[str, Any]:
    """One page of a REST query answer, checked against the wire contract: an object whose
    `records` is a list of objects holding every selected field (null when empty), `totalSize`
    a count and `done` a boolean. Anything else is an error, never fewer rows."""
    if not isinstance(page, dict):
        raise OrgAnswerError(f"the query answer is {_kind(page)}, not an object")
    records, total, done = page.get("records"), page.get("totalSize"), page.get("done")
    if not isinstance(records, list):
        raise OrgAnswerError(f"the query answer's records is {_kind(records)}, not a list")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise OrgAnswerError(f"the query answer's totalSize is {_kind(total)}, not a count")
    if not isinstance(done, bool):
        raise OrgAnswerError(f"the query answer's done is {_kind(done)}, not true or false")
    missing: set[str] = set()
    plain = {f for f in fields if "." not in f}
    paths = [(f, f.split(".")) for f in fields if "." in f]
    for row in records:
        if not isinstance(row, dict):
            raise OrgAnswerError(f"a query row is {_kind(row)}, not an object")
        if not row.keys() >= plain:
            missing.update(plain - row.keys())
        missing.update(f for f, path in paths if not _has_path(row, path))
    if missing:
        raise OrgAnswerError(f"query rows lack the selected field(s) {', '.join(sorted(missing))}")
    return page


def _has_path(row: dict[str, Any], path: list[str]) -> bool:
    if path[0] not in row:
        return False
    value = row[path[0]]
    if len(path) == 1 or value is None:
        return True
    return isinstance(value, dict) and _has_path(value, path[1:])


def strip_attributes(row: Any) -> Any:
    if isinstance(row, dict):
        return {k: strip_attributes(v) if isinstance(v, dict) else v for k, v in row.items() if k != "attributes"}
    return row


_ROW_KEY = json.JSONEncoder(sort_keys=True, default=str)  # json.dumps(row, sort_keys=True, default=str), built once


def row_key(row: dict[str, Any]) -> str:
    return _ROW_KEY.encode(row)


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
    if isinstance(error, (Refused, OrgAnswerError)):
        return str(error)
    if isinstance(error, requests.exceptions.JSONDecodeError):
        return "the answer is not valid JSON (cut short?)"
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
    return f"the session for {redact_url(credentials.target)} is expired or invalid (INVALID_SESSION_ID); {again}"

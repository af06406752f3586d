"""A fake Salesforce org over real HTTPS on 127.0.0.1, speaking the wire formats simple-salesforce
and ca-audit use: REST query / queryMore (nextRecordsUrl), Metadata API SOAP listMetadata and
readMetadata, SOAP faults, REST error bodies, and the OAuth token endpoint for the JWT bearer grant.

It is a test double for Salesforce, not for our code: everything ca-audit does goes through it
unchanged. Every request is recorded so tests can assert that a pull only reads.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme

from .org import PAGE_SIZES, FakeOrgData

MD_NS = "http://soap.sforce.com/2006/04/metadata"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# "In each REST call, the maximum length for the combined URI and headers is 16,384 bytes. A request
# exceeding this limit returns a 431 Request Header Fields Too Large error. If the URI itself exceeds
# this limit, the request returns a 414 URI Too Long error." (Salesforce Help, article 000386264.)
# The body Salesforce sends with them is not documented; the fake sends the status text.
MAX_URI_AND_HEADERS = 16_384

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
REQUEST_LIMIT = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
SERVER_UNAVAILABLE = [{"message": "Server temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
UNKNOWN_EXCEPTION = [
    {
        "message": "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1981526834-218154 (-1424559434)",
        "errorCode": "UNKNOWN_EXCEPTION",
    }
]


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def soap_operation(self) -> str | None:
        if "/services/Soap/" not in self.path:
            return None
        match = re.search(rb"<(?:\w+:)?(\w+)[ >]", self.body.split(b"Body", 1)[-1])
        return match.group(1).decode() if match else None

    @property
    def soql(self) -> str | None:
        values = urllib.parse.parse_qs(self.query).get("q")
        return values[0] if values else None


@dataclass
class _Rule:
    method: str
    pattern: re.Pattern
    times: int | None  # None = forever
    action: dict[str, Any] = field(default_factory=dict)
    body_pattern: re.Pattern | None = None

    def matches(self, method: str, path_and_query: str, body: bytes) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method not in ("*", method):
            return False
        if not self.pattern.search(path_and_query):
            return False
        if self.body_pattern is not None and not self.body_pattern.search(body.decode("utf-8", "replace")):
            return False
        return True


def soap_fault(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:sf="{MD_NS}">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{_esc(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class FakeSalesforce:
    """Start with ``FakeSalesforce(data).start()``; ``url``, ``token``, ``ca_path`` describe it."""

    def __init__(self, data: FakeOrgData | None = None, *, page_size: int = 2000, latency: float = 0.0):
        self.data = data if data is not None else FakeOrgData()
        self.page_size = page_size
        # Every answer leaves `latency` seconds after its request arrived, the fake's own work included,
        # as a real org's answer time includes the org's work (bench: the floor is requests × latency).
        self.latency = latency
        self.token = "00D5e000000Fake!AQ4AQFakeSessionToken.Not.A.Real.One"
        self.valid_tokens = {self.token}
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._rules: list[_Rule] = []
        self._cursors: dict[str, tuple[list[dict], int, int]] = {}
        self._cursor_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._tmp = tempfile.mkdtemp(prefix="fakesf-")
        self._ca = trustme.CA()
        leaf = self._ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = os.path.join(self._tmp, "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_path)
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(self._ssl)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeSalesforce:
        fake = self

        class Handler(_Handler):
            owner = fake

        server = _QuietServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = self._ssl.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- test hooks
    def inject(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: Any,
        *,
        content_type: str | None = None,
        times: int | None = 1,
        body_regex: str | None = None,
    ) -> None:
        """Answer matching requests with this status and body instead of the real answer."""
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
            content_type = content_type or "application/json;charset=UTF-8"
        self._add_rule(method, path_regex, times, body_regex, status=status, body=body,
                       content_type=content_type or "text/xml;charset=UTF-8")

    def delay(self, method: str, path_regex: str, seconds: float, *, times: int | None = 1) -> None:
        self._add_rule(method, path_regex, times, None, delay=seconds)

    def truncate(self, method: str, path_regex: str, *, times: int | None = 1) -> None:
        """Send the real answer's headers and half its body, then drop the connection."""
        self._add_rule(method, path_regex, times, None, truncate=True)

    # ---------------------------------------------------------------- hostile answers (tests/hostile)
    def trickle(self, method: str, path_regex: str, *, interval: float = 1.0, headers_too: bool = False,
                times: int | None = None) -> None:
        """Send the real answer one byte every `interval` seconds: the body only (each read succeeds
        well within any read timeout), or the status line and headers too."""
        self._add_rule(method, path_regex, times, None, trickle=interval, trickle_headers=headers_too)

    def redirect(self, method: str, path_regex: str, location: str, *, status: int = 307,
                 times: int | None = None) -> None:
        """Answer with a redirect to `location` (another host, in the tests)."""
        self._add_rule(method, path_regex, times, None, status=status, body=b"", content_type="text/html",
                       headers={"Location": location})

    def endless_paging(self, path_regex: str, *, loop: bool = False) -> None:
        """Queries matching `path_regex` never finish: every page says done=false and gives a
        nextRecordsUrl, a fresh one each time or (`loop`) always the same one."""
        self._add_rule("GET", path_regex, None, None, endless=loop)
        self._add_rule("GET", r"/query/01gEND", None, None, endless=loop)

    def huge(self, method: str, path_regex: str, size: int, *, prefix: bytes = b"",
             content_type: str = "application/json;charset=UTF-8", times: int | None = None) -> None:
        """Answer with `prefix` padded with spaces to `size` bytes, streamed (never held in memory)."""
        self._add_rule(method, path_regex, times, None, huge=size, prefix=prefix, content_type=content_type)

    def echo_secret(self, method: str, path_regex: str, *, times: int | None = None) -> None:
        """Fail with an error that quotes the secret the request carried, in the wire format of the
        endpoint: the bearer token in a REST error, the session id in a SOAP fault, the JWT
        assertion in an OAuth error."""
        self._add_rule(method, path_regex, times, None, echo=True)

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def new_token(self) -> str:
        token = f"00D5e000000Fake!AQ4AQ{len(self.valid_tokens) + 1}.Fresh"
        self.valid_tokens.add(token)
        return token

    def writes(self) -> list[RecordedRequest]:
        """Requests that could change an org: any REST write, any SOAP call but list/read/describe."""
        out = []
        for r in self.requests:
            if "/services/Soap/" in r.path:
                if r.soap_operation not in ("listMetadata", "readMetadata", "describeMetadata"):
                    out.append(r)
            elif r.method != "GET" and not r.path.endswith("/services/oauth2/token"):
                out.append(r)
        return out

    def _add_rule(self, method, path_regex, times, body_regex, **action) -> None:
        with self._lock:
            self._rules.append(
                _Rule(method.upper(), re.compile(path_regex), times, action,
                      re.compile(body_regex) if body_regex else None)
            )

    def _take_rules(self, method: str, path_and_query: str, body: bytes) -> list[dict]:
        taken = []
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path_and_query, body):
                    if rule.times is not None:
                        rule.times -= 1
                    taken.append(rule.action)
        return taken

    # ---------------------------------------------------------------- REST
    def rest(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes):
        if path.endswith("/services/oauth2/token") and method == "POST":
            return self.token_endpoint(body)
        if path.rstrip("/") == "/services/data":
            versions = [{"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}]
            return 200, versions
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            return 401, INVALID_SESSION
        if method != "GET":
            return 405, [{"message": "The fake org is read-only", "errorCode": "METHOD_NOT_ALLOWED"}]
        match = re.fullmatch(r"/services/data/v(\d+\.\d)/(?:tooling/)?(query|queryAll)/?(.*)", path)
        if not match:
            return 404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
        locator = match.group(3)
        version = match.group(1)
        if locator:
            return self._next_page(version, locator)
        soql = urllib.parse.parse_qs(query).get("q", [""])[0]
        try:
            records = self.data.query(soql)
        except ValueError as exc:
            code, message = exc.args
            return 400, [{"message": message, "errorCode": code}]
        if isinstance(records, int):  # SELECT COUNT(): the number, no rows
            return 200, {"totalSize": records, "done": True, "records": []}
        obj = re.search(r"\bFROM\s+(\w+)", soql, re.I)
        size = min(self.page_size, PAGE_SIZES.get(obj.group(1), self.page_size)) if obj else self.page_size
        return self._page(version, records, 0, size)

    def _page(self, version: str, records: list[dict], offset: int, size: int):
        chunk = records[offset : offset + size]
        page: dict[str, Any] = {"totalSize": len(records), "done": offset + len(chunk) >= len(records)}
        if not page["done"]:
            with self._lock:
                cursor = f"01g5e{next(self._cursor_ids):013d}"
                self._cursors[cursor] = (records, offset + len(chunk), size)
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}-{offset + len(chunk)}"
        page["records"] = chunk
        return 200, page

    def _endless_page(self, version: str, loop: bool) -> dict[str, Any]:
        with self._lock:
            step = 1 if loop else next(self._cursor_ids)
        return {"totalSize": 10**9, "done": False, "records": [],
                "nextRecordsUrl": f"/services/data/v{version}/query/01gEND{step:013d}-2000"}

    def _next_page(self, version: str, locator: str):
        cursor = locator.split("-")[0]
        with self._lock:
            state = self._cursors.get(cursor)
        if state is None:
            return 400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
        records, offset, size = state
        return self._page(version, records, offset, size)

    def echoed_error(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, str]:
        if path.endswith("/services/oauth2/token"):
            assertion = urllib.parse.parse_qs(body.decode()).get("assertion", [""])[0]
            return 400, json.dumps({"error": "invalid_grant",
                                    "error_description": f"invalid assertion {assertion}"}), "application/json"
        if path.startswith("/services/Soap/"):
            match = re.search(rb"<sessionId>([^<]*)</sessionId>", body)
            session = match.group(1).decode() if match else ""
            return 500, soap_fault("INVALID_QUERY_FILTER_OPERATOR", f"Session {session} may not read this"), \
                "text/xml;charset=UTF-8"
        token = headers.get("authorization", "")[7:]
        return 400, json.dumps([{"message": f"Malformed query for session {token}", "errorCode": "MALFORMED_QUERY"}]), \
            "application/json;charset=UTF-8"

    # ---------------------------------------------------------------- OAuth
    def token_endpoint(self, body: bytes):
        form = urllib.parse.parse_qs(body.decode())
        grant = form.get("grant_type", [""])[0]
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
        try:
            payload_part = form["assertion"][0].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4)))
        except (KeyError, IndexError, ValueError):
            return 400, {"error": "invalid_grant", "error_description": "invalid assertion"}
        jwt = self.data.jwt
        if jwt.certificate_pem is not None and not _signed_by(form["assertion"][0], jwt.certificate_pem):
            return 400, {"error": "invalid_grant", "error_description": "invalid assertion"}
        if claims.get("iss") != jwt.consumer_key:
            return 400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}
        if claims.get("aud") not in ("https://login.salesforce.com", "https://test.salesforce.com", self.url):
            return 400, {"error": "invalid_grant", "error_description": "audience is invalid"}
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
            return 400, {"error": "invalid_grant", "error_description": "expired authorization code"}
        sub = claims.get("sub")
        if sub in jwt.inactive_users:
            return 400, {"error": "invalid_grant", "error_description": "user is inactive"}
        if sub in jwt.not_admin_approved:
            return 400, {"error": "invalid_app_access",
                         "error_description": "user is not admin approved to access this app"}
        if sub not in jwt.approved_users:
            return 400, {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}
        token = self.new_token()
        return 200, {
            "access_token": token,
            "scope": "api",
            "instance_url": self.url,
            "id": f"https://login.salesforce.com/id/{self.data.org_id}/0055e000001AbcDAAS",
            "token_type": "Bearer",
        }

    # ---------------------------------------------------------------- SOAP
    def soap(self, path: str, body: bytes) -> tuple[int, str]:
        try:
            envelope = ET.fromstring(body)
        except ET.ParseError:
            return 500, soap_fault("INVALID_XML", "Could not parse the SOAP request")
        session = envelope.find(f".//{{{MD_NS}}}SessionHeader/{{{MD_NS}}}sessionId")
        if session is None or (session.text or "") not in self.valid_tokens:
            return 500, soap_fault(
                "INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"
            )
        body_el = envelope.find(f"{{{SOAP_NS}}}Body")
        op = body_el[0] if body_el is not None and len(body_el) else None
        if op is None:
            return 500, soap_fault("INVALID_XML", "No operation in the SOAP body")
        name = op.tag.split("}")[-1]
        if name == "readMetadata":
            type_name = op.findtext(f"{{{MD_NS}}}type") or ""
            names = [el.text or "" for el in op.findall(f"{{{MD_NS}}}fullNames")]
            if len(names) > 10:
                return 500, soap_fault(
                    "LIMIT_EXCEEDED", "LIMIT_EXCEEDED: Too many fullNames: the limit is 10 per readMetadata call"
                )
            for n in names:
                if (type_name, n) in self.data.poison:
                    return 500, soap_fault(
                        "UNKNOWN_EXCEPTION",
                        "UNKNOWN_EXCEPTION: An unexpected error occurred. Please include this ErrorId if you "
                        "contact support: 2093713466-46710 (1797926329)",
                    )
            return 200, self._read_response(type_name, names)
        if name == "listMetadata":
            queries = op.findall(f"{{{MD_NS}}}queries")
            if len(queries) > 3:
                return 500, soap_fault("INVALID_TYPE", "INVALID_TYPE: Too many queries: the limit is 3")
            return 200, self._list_response([q.findtext(f"{{{MD_NS}}}type") or "" for q in queries])
        return 500, soap_fault("UNSUPPORTED_OPERATION", f"The fake org does not implement {name}")

    def _read_response(self, type_name: str, names: list[str]) -> str:
        parts = []
        for n in names:
            doc = self.data.metadata_record(type_name, n)
            if doc is None:
                parts.append('<records xsi:nil="true"/>')
                continue
            root = ET.fromstring(doc)
            inner = "".join(_strip_ns(ET.tostring(child, encoding="unicode")) for child in root)
            parts.append(f'<records xsi:type="{type_name}"><fullName>{_esc(n)}</fullName>{inner}</records>')
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{MD_NS}" xmlns:xsi="{XSI_NS}">'
            f"<soapenv:Body><readMetadataResponse><result>{''.join(parts)}</result></readMetadataResponse>"
            "</soapenv:Body></soapenv:Envelope>"
        )

    def _list_response(self, types: list[str]) -> str:
        results = []
        for type_name in types:
            for fp in self.data.file_properties(type_name):
                results.append("<result>" + "".join(f"<{k}>{_esc(str(v))}</{k}>" for k, v in fp.items()) + "</result>")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{MD_NS}" xmlns:xsi="{XSI_NS}">'
            f"<soapenv:Body><listMetadataResponse>{''.join(results)}</listMetadataResponse>"
            "</soapenv:Body></soapenv:Envelope>"
        )


def _signed_by(assertion: str, certificate_pem: bytes) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input, _, signature = assertion.rpartition(".")
    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    try:
        key.verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), signing_input.encode(),
                   padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def _strip_ns(xml_text: str) -> str:
    """ElementTree writes ns0: prefixes; the wire format uses the default namespace."""
    xml_text = re.sub(r'\sxmlns:ns0="[^"]+"', "", xml_text)
    return xml_text.replace("<ns0:", "<").replace("</ns0:", "</")


class ClearTextTrap:
    """A plain TCP listener on 127.0.0.1 that records whatever a client sends it in clear text, and
    answers nothing: what `--login-url http://…` would hand to anyone on the path."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.received = b""
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _serve(self) -> None:
        while self._running:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.5)
                try:
                    while chunk := conn.recv(65536):
                        self.received += chunk
                except OSError:
                    pass

    def stop(self) -> None:
        self._running = False
        self._thread.join()
        self._socket.close()


class _QuietServer(ThreadingHTTPServer):
    """Clients that drop connections (timeouts, refused certificates) are part of the tests; the
    stdlib would print a traceback for each on stderr, into whichever test runs then."""

    def handle_error(self, request, client_address) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSalesforce
    protocol_version = "HTTP/1.1"
    _answer_at = 0.0  # when the answer may leave (FakeSalesforce.latency)

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        fake = self.owner
        self._answer_at = time.monotonic() + fake.latency
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with fake._lock:
            fake.requests.append(RecordedRequest(method, path, query, headers, body))
            fake._in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
        try:
            uri = len(self.path.encode())
            if uri > MAX_URI_AND_HEADERS:
                self._send(414, b"URI Too Long", "text/plain;charset=UTF-8")
                return
            if uri + sum(len(f"{k}: {v}".encode()) for k, v in self.headers.items()) > MAX_URI_AND_HEADERS:
                self._send(431, b"Request Header Fields Too Large", "text/plain;charset=UTF-8")
                return
            actions = fake._take_rules(method, self.path, body)
            for action in actions:
                if "delay" in action:
                    time.sleep(action["delay"])
            canned = next((a for a in actions if "status" in a), None)
            trickle = next((a for a in actions if "trickle" in a), None)
            if canned is not None:
                payload = canned["body"]
                self._send(canned["status"], payload if isinstance(payload, bytes) else payload.encode(),
                           canned["content_type"], headers=canned.get("headers"), trickle=trickle)
                return
            if any("echo" in a for a in actions):
                status, text, ctype = fake.echoed_error(path, headers, body)
                self._send(status, text.encode(), ctype)
                return
            huge = next((a for a in actions if "huge" in a), None)
            if huge is not None:
                self._send_huge(huge["huge"], huge["prefix"], huge["content_type"])
                return
            endless = next((a for a in actions if "endless" in a), None)
            if endless is not None:
                version = re.search(r"/v(\d+\.\d)/", path)
                page = fake._endless_page(version.group(1) if version else "66.0", endless["endless"])
                self._send(200, json.dumps(page).encode(), "application/json;charset=UTF-8")
                return
            if path.startswith("/services/Soap/m/") and method == "POST":
                status, text = fake.soap(path, body)
                out, ctype = text.encode(), "text/xml;charset=UTF-8"
            else:
                status, obj = fake.rest(method, path, query, headers, body)
                out, ctype = json.dumps(obj).encode(), "application/json;charset=UTF-8"
            self._send(status, out, ctype, truncate=any(a.get("truncate") for a in actions), trickle=trickle)
        finally:
            with fake._lock:
                fake._in_flight -= 1

    def _send(self, status: int, body: bytes, content_type: str, truncate: bool = False,
              headers: dict[str, str] | None = None, trickle: dict[str, Any] | None = None) -> None:
        self._wait_for_latency()
        try:
            if trickle is not None and trickle["trickle_headers"]:
                head = (f"HTTP/1.1 {status} OK\r\nContent-Type: {content_type}\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode()
                self._dribble(head + body, trickle["trickle"])
                return
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Sforce-Limit-Info", "api-usage=25/15000")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if trickle is not None:
                self.wfile.flush()
                self._dribble(body, trickle["trickle"])
                return
            if truncate:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.request.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def _dribble(self, data: bytes, interval: float) -> None:
        """One byte at a time until the client gives up (or, eventually, the end)."""
        self.close_connection = True
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            time.sleep(interval)

    def _wait_for_latency(self) -> None:
        wait = self._answer_at - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def _send_huge(self, size: int, prefix: bytes, content_type: str) -> None:
        self._wait_for_latency()
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.write(prefix)
            chunk = b" " * 65536
            left = size - len(prefix)
            while left > 0:
                self.wfile.write(chunk[:left])
                left -= min(left, len(chunk))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True

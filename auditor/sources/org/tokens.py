"""Every OauthToken row, however many: Salesforce returns at most 2,500 rows for a query of this
object (salesforce-facts.md §3.4), so the pull counts first and reads slices under the cap.

Slices go by app label while the query naming every installed label (for the tokens of apps that
are not installed, `AppName NOT IN (…)`) fits in a GET URL (soql.QUERY_URL_BUDGET); with more or
longer labels than that, the whole table is read in CreatedDate windows, with no AppName filter."""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor.sources.org.client import ROW_CAPS, OrgClient
from auditor.sources.org.soql import QUERY_URL_BUDGET, parse_time, quote, soql_time, url_length
from auditor.sources.org.workpool import URGENT, PriorityPool


class Puller(Protocol):
    """What the token reader uses of the pull that runs it (auditor/sources/org/pull.py)."""

    client: OrgClient
    pool: PriorityPool
    errors: list[dict[str, str]]
    lock: threading.Lock

    def _guard(self, what: str, fn: Callable[..., Any], *args: Any) -> Any: ...

    def _tick(self, phase: str, done: int = 1, total: int | None = None) -> None: ...

TOKEN_FIELDS = "SELECT AppName, UserId, User.Username, CreatedDate, LastUsedDate, UseCount FROM OauthToken"
TOKEN_CAP = ROW_CAPS["OauthToken"]
LABELS_PER_SLICE = 40  # app labels per OauthToken slice
SPLIT_WAYS = 8  # a group of labels still over the cap after a split goes into this many groups at once
_ANY_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # stands for a window's bounds when sizing a query


@dataclass(frozen=True)
class TokenSlice:
    """A part of OauthToken: some app labels (or every app but the known ones), created in a window."""

    labels: tuple[str, ...] | None = None  # AppName IN (…); None: any app
    others: tuple[str, ...] | None = None  # AppName NOT IN (…): tokens of apps that are not installed
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    level: int = field(default=0, compare=False)  # how many label splits made it

    def where(self) -> str:
        parts = []
        if self.labels is not None:
            parts.append(f"AppName = {quote(self.labels[0])}" if len(self.labels) == 1
                         else f"AppName IN ({', '.join(quote(x) for x in self.labels)})")
        if self.others:
            parts.append(f"AppName NOT IN ({', '.join(quote(x) for x in self.others)})")
        if self.start is not None:
            parts.append(f"CreatedDate >= {soql_time(self.start)}")
        if self.end is not None:
            parts.append(f"CreatedDate < {soql_time(self.end)}")
        return " WHERE " + " AND ".join(parts) if parts else ""

    def shown(self) -> str:
        if self.labels is not None:
            apps = f"app {self.labels[0]!r}" if len(self.labels) == 1 else \
                f"apps {self.labels[0]!r} … {self.labels[-1]!r} ({len(self.labels)})"
        elif self.others is not None:
            apps = "apps that are not installed"
        else:
            apps = "all apps"
        window = f", created {soql_time(self.start)} … {soql_time(self.end)}" if self.start and self.end else ""
        return f"tokens of {apps}{window}"


def fits(piece: TokenSlice) -> bool:
    """Whether every query made for this slice (its rows, in a CreatedDate window) fits in the URL budget."""
    windowed = TokenSlice(piece.labels, piece.others, _ANY_TIME, _ANY_TIME)
    return url_length(TOKEN_FIELDS + windowed.where() + " ORDER BY CreatedDate DESC LIMIT 1") <= QUERY_URL_BUDGET


def token_plan(labels: list[str]) -> list[TokenSlice] | None:
    """The first slices of a read over the cap: app labels, LABELS_PER_SLICE a slice, and the tokens of
    every other app (`AppName NOT IN` every label). None when that last query does not fit in a URL: the
    whole table is then read in CreatedDate windows. (When it fits, every `AppName IN` slice, naming
    fewer of the same labels, fits too.)"""
    labels = sorted(set(labels))
    others = TokenSlice(others=tuple(labels))
    if not labels or not fits(others):
        return None
    step = LABELS_PER_SLICE
    return [TokenSlice(labels=tuple(labels[i : i + step])) for i in range(0, len(labels), step)] + [others]


class TokenReader:
    """Every OauthToken row, however many: count, then read slices under the 2,500-row cap, splitting
    a slice by app labels, then by CreatedDate windows, until it fits; the slices must add up to the count.
    With too many labels for one URL (token_plan), the slices are CreatedDate windows of the whole table."""

    def __init__(self, puller: Puller, labels: list[str], total: int):
        self.puller = puller
        self.client = puller.client
        self.labels = list(labels)
        self.total = total

    def add_labels(self, labels: Iterable[str]) -> None:
        self.labels = sorted(set(self.labels) | set(labels))

    def run(self, on_rows: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
        """Every row; `on_rows` is called (on this thread) with each slice's rows as it is read, so
        that the pull can look up the users they name while the other slices are read."""
        puller = self.puller
        puller._tick("tokens", 0, self.total)
        plan = token_plan(self.labels) if self.total >= TOKEN_CAP else None
        # Under the cap one query reads everything; without a plan, the whole table (known count) is split
        # into CreatedDate windows.
        initial: list[tuple[TokenSlice, int | None]] = [(TokenSlice(), self.total)] if plan is None \
            else [(piece, None) for piece in plan]
        pending = {self._submit(sl, n): sl for sl, n in initial}
        rows: list[dict[str, Any]] = []
        counted, failed = 0, False
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.pop(future)
                result = future.result()
                if result is None:  # the guard recorded what was not read
                    failed = True
                    continue
                n, got, parts = result
                for part in parts:
                    pending[self._submit(part, None)] = part
                if not parts:
                    rows.extend(got)
                    counted += n
                    puller._tick("tokens", n)
                    if on_rows is not None and got:
                        on_rows(got)
        if not failed and not self.client.fatal and (counted != self.total or len(rows) != self.total):
            with puller.lock:
                puller.errors.append({"what": "SOQL OauthToken", "message": (
                    f"the slices read add up to {len(rows)} tokens but the org counted {self.total}; tokens were "
                    "created or revoked during the read, so pull again")})
        return rows

    def _submit(self, piece: TokenSlice, known: int | None) -> Future:
        return self.puller.pool.submit_at(URGENT, self.puller._guard, f"SOQL OauthToken: {piece.shown()}", self._read,
                                       piece, known)

    def _read(self, piece: TokenSlice, known: int | None) -> tuple[int, list[dict[str, Any]], list[TokenSlice]]:
        n = known if known is not None else self.client.count("SELECT COUNT() FROM OauthToken" + piece.where())
        if n == 0:
            return 0, [], []
        if n < TOKEN_CAP:
            rows = self.client.query_all(TOKEN_FIELDS + piece.where())
            if len(rows) != n:
                raise ValueError(f"read {len(rows)} of the {n} tokens counted in this slice (tokens changed during "
                                 "the read?)")
            return n, rows, []
        return n, [], self._split(piece, n)

    def _split(self, piece: TokenSlice, n: int) -> list[TokenSlice]:
        if piece.labels is not None and len(piece.labels) > 1:
            # First as many groups as 80%-full slices the count needs, as if the tokens were spread
            # evenly over the labels; a group still over the cap holds an app with many tokens, and
            # goes SPLIT_WAYS ways at once (levels: 1 + log8 of its labels, not log2 of them all).
            ways = math.ceil(n / (TOKEN_CAP * 0.8)) if piece.level == 0 else SPLIT_WAYS
            ways = max(2, min(ways, len(piece.labels)))
            cuts = [len(piece.labels) * i // ways for i in range(ways + 1)]
            return [TokenSlice(labels=piece.labels[a:b], level=piece.level + 1)
                    for a, b in zip(cuts, cuts[1:], strict=False)]
        if piece.start is None or piece.end is None:
            first, last = (self._created(piece, order) for order in ("ASC", "DESC"))
            start, end = first, last + dt.timedelta(seconds=1)
            parts = max(2, math.ceil(n / (TOKEN_CAP * 0.8)))
        else:
            start, end, parts = piece.start, piece.end, 2
        step = (end - start) / parts
        if step < dt.timedelta(seconds=1):
            raise ValueError(f"{n} tokens were created within one second; they cannot be read under the "
                             f"{TOKEN_CAP}-row cap")
        bounds = [start + (step * i).__floordiv__(dt.timedelta(seconds=1)) * dt.timedelta(seconds=1)
                  for i in range(parts)] + [end]
        return [TokenSlice(piece.labels, piece.others, a, b) for a, b in zip(bounds, bounds[1:], strict=False) if a < b]

    def _created(self, piece: TokenSlice, order: str) -> dt.datetime:
        rows = self.client.query_all(f"SELECT CreatedDate FROM OauthToken{piece.where()} ORDER BY CreatedDate "
                                     f"{order} LIMIT 1")
        if not rows or not rows[0].get("CreatedDate"):
            raise ValueError("the oldest and newest token of this slice could not be read")
        return parse_time(rows[0]["CreatedDate"])

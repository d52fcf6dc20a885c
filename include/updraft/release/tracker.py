"""Tracker: the distribution's Bugzilla, read and closed through python-bugzilla (REST).

Fetching is batched: one `GET /rest/bug?id=…&permissive=1&include_fields=…` per `batch`
bugs (500). python-bugzilla's `getbugs()` drops the `faults` of a permissive get (and its
list is not aligned with the ids asked for), so the batch goes through its public
`query_return_extra()`, which keeps them: fault 102 marks a bug the tracker refused (a
security bug, seed 000's "5908 NA <No Product Found> Access Denied"), fault 101 a number
it does not know. A Bugzilla 5 answers `/rest/bug` as a search and leaves out the bugs the
key may not see without a fault: such a bug is reported as access-denied too, as Rnotes did.

Connecting costs one `GET /rest/version` (python-bugzilla checks the server version); it
is made on first use, not counted in `requests`. The API key travels as python-bugzilla
sends it (the `Bugzilla_api_key` query parameter, the only way Bugzilla 5.0 accepts): it
is scrubbed from log records of python-bugzilla and urllib3, which logs request URLs at
DEBUG, and from error messages.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

from updraft.errors import ConfigError, Transient, UpdraftError

URL_ENV = "UPDRAFT_BUGZILLA_URL"
API_KEY_ENV = "UPDRAFT_BUGZILLA_API_KEY"
FIELDS = ("id", "status", "resolution", "product", "version", "summary", "keywords",
          "depends_on", "blocks")
FAULT_NOT_FOUND = 101
FAULT_ACCESS_DENIED = 102
# the loggers that see request URLs or parameters
_SCRUBBED_LOGGERS = ("urllib3.connectionpool", "bugzilla.base", "bugzilla._backendrest",
                     "bugzilla._session")

log = logging.getLogger(__name__)


class TrackerUnavailable(UpdraftError):
    """The tracker could not be reached, refused the API key, or answered nonsense."""


class TrackerUnreachable(TrackerUnavailable, Transient):
    """The tracker did not answer in time or refused the connection: a retry may reach it."""


@dataclass(frozen=True)
class Bug:
    """One bug as the tracker reports it; `status` None when it would not or could not."""

    id: int
    status: str | None
    resolution: str = ""
    product: str = ""
    version: str = ""
    summary: str = ""
    keywords: tuple[str, ...] = ()
    depends_on: tuple[int, ...] = ()
    blocks: tuple[int, ...] = ()
    access_denied: bool = False
    missing: bool = False

    @property
    def security(self) -> bool:
        return any(word.casefold() == "security" for word in self.keywords)

    @property
    def known(self) -> bool:
        return self.status is not None

    def product_matches(self, product: str, version: str | None = None) -> bool:
        """Filed against the release's product (and version: "9.2" is within "9")?

        A bug whose product is unknown (denied, missing) matches nothing.
        """
        if not self.known or self.product.strip().casefold() != product.strip().casefold():
            return False
        if version is None:
            return True
        wanted = str(version).strip()
        # a bug filed against several versions (a list, joined) matches any of them
        return any(mine == wanted or mine.startswith(wanted + ".")
                   for mine in (part.strip() for part in self.version.split(",")))

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies, 50 us a bug at 10,000 bugs.
        raw = {item.name: getattr(self, item.name) for item in fields(self)}
        for name in ("keywords", "depends_on", "blocks"):
            raw[name] = list(raw[name])
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Bug:
        return cls.read(raw, bool(raw.get("access_denied")), bool(raw.get("missing")))

    @classmethod
    def read(cls, raw: dict[str, Any], access_denied: bool, missing: bool) -> Bug:
        """The fields read by shape (see _bug_from_rest); the two flags as given."""
        number = raw["id"]
        return cls(
            id=number if type(number) is int else int(_text(number)),
            status=_text(raw.get("status")) or None,
            resolution=_text(raw.get("resolution")),
            product=_text(raw.get("product")),
            version=_text(raw.get("version")),
            summary=_text(raw.get("summary")),
            keywords=_words(raw.get("keywords")),
            depends_on=_numbers(raw.get("depends_on")),
            blocks=_numbers(raw.get("blocks")),
            access_denied=access_denied,
            missing=missing,
        )

    @classmethod
    def denied(cls, bug_id: int) -> Bug:
        return cls(id=bug_id, status=None, access_denied=True)

    @classmethod
    def unknown_number(cls, bug_id: int) -> Bug:
        return cls(id=bug_id, status=None, missing=True)


class _Secrets(logging.Filter):
    """Rewrites log records that would show a secret (the API key in a request URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.values:
            return True
        message = record.getMessage()
        scrubbed = scrub(message, self.values)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def _unreachable(exc: BaseException) -> bool:
    """No answer in time, or no connection: unlike a refused key, a retry may cure it."""
    import requests

    return isinstance(exc, (requests.Timeout, requests.ConnectionError))


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            text = text.replace(urllib.parse.quote_plus(secret), "***")
    return text


_SECRETS = _Secrets()
for _name in _SCRUBBED_LOGGERS:
    logging.getLogger(_name).addFilter(_SECRETS)


def rest_url(url: str) -> str:
    """The REST root python-bugzilla should use for a Bugzilla base (or REST) URL.

    python-bugzilla appends `rest/` only to a URL without any path, so `http://host/`
    would have it call `http://host/version`.
    """
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"Bugzilla URL {url!r} is not an http(s) URL: set bugzilla.url "
                          f"(or {URL_ENV}) to the tracker's address, e.g. https://bugs.example.org")
    path = parts.path.rstrip("/")
    if not path.endswith("/rest"):
        path += "/rest"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# Batches in flight at once: a few hide the round trips, more would only load the tracker.
FETCH_WORKERS = 4


class BugTracker:
    """The distribution's Bugzilla: batched bug fetches and closing released bugs."""

    BATCH = 500

    def __init__(self, url: str, api_key: str | None = None, batch: int = 500,
                 timeout: float = 30.0) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.url = rest_url(url)
        self.batch = batch
        self.timeout = timeout
        self.requests = 0
        self._api_key = api_key or None
        if self._api_key:
            _SECRETS.values.add(self._api_key)
        self._client: Any = None
        self._session: Any = None

    def __repr__(self) -> str:  # never the key
        return f"BugTracker({self.url!r}, batch={self.batch})"

    def _unavailable(self, doing: str, exc: BaseException) -> TrackerUnavailable:
        code = getattr(exc, "code", None)
        if code in (306, 410):
            hint = f"check the API key (connection updraft_bugzilla or {API_KEY_ENV})"
        else:
            hint = "check that Bugzilla is up and the URL is right, then re-run"
        kind = TrackerUnreachable if _unreachable(exc) else TrackerUnavailable
        return kind(f"Bugzilla at {self.url}: {doing} failed ({self._reason(exc)}); {hint}")

    def _reason(self, exc: BaseException) -> str:
        import requests

        response = getattr(exc, "response", None)
        if isinstance(exc, requests.Timeout):
            return f"no answer within {self.timeout:g} s"
        if isinstance(exc, requests.ConnectionError):
            refused = "refused" in str(exc).lower()
            return "cannot connect: connection refused" if refused else "cannot connect"
        if isinstance(exc, json.JSONDecodeError):
            return "the answer is not Bugzilla REST JSON: is the URL the tracker's?"
        if response is not None and not getattr(exc, "code", None):
            return f"HTTP {response.status_code} {response.reason}".strip()
        text = " ".join(str(exc).split()) or type(exc).__name__
        return scrub(text, [self._api_key or ""])

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        import bugzilla
        import requests

        timeout = self.timeout

        class Session(requests.Session):
            def request(self, *args: Any, **kwargs: Any) -> Any:
                kwargs["timeout"] = timeout  # python-bugzilla's default is 300 s
                return super().request(*args, **kwargs)

        self._session = Session()
        try:
            # use_creds=False: no ~/.bugzillarc or token cache may add a user or a key
            self._client = bugzilla.Bugzilla(
                self.url, api_key=self._api_key, force_rest=True, use_creds=False,
                requests_session=self._session)
        except (bugzilla.BugzillaError, requests.RequestException, ValueError,
                KeyError, TypeError) as exc:
            raise self._unavailable("connecting", exc) from None
        return self._client

    def fetch(self, ids: Iterable[int]) -> dict[int, Bug]:
        """Every bug asked for, by id: known ones with their fields, the others marked."""
        wanted = sorted({int(bug) for bug in ids})
        if not wanted:
            return {}
        client = self._connect()
        chunks = list(_chunks(wanted, self.batch))
        self.requests += len(chunks)
        found: dict[int, Bug] = {}
        # Batches are independent: a few in flight at once (bounded: a tracker is shared).
        with ThreadPoolExecutor(max_workers=min(len(chunks), FETCH_WORKERS)) as pool:
            for part in pool.map(lambda chunk: self._fetch_batch(client, chunk), chunks):
                found.update(part)
        return found

    def _fetch_batch(self, client: Any, chunk: list[int]) -> dict[int, Bug]:
        import bugzilla
        import requests

        # Comma-separated, as Bugzilla's REST documents (`/rest/bug?id=12434,43421`): a
        # list would go out as 500 `id=` parameters, each URL-quoted on its own.
        query = {"id": ",".join(map(str, chunk)), "permissive": 1,
                 "include_fields": ",".join(FIELDS)}
        try:
            # The backend's search, as query_return_extra() makes it, without what that
            # adds per batch: a str() of the whole answer for a debug line, a Bug object
            # per bug and a deep copy of each (get_raw_data): most of a fetch's time.
            extra = client._backend.bug_search(query)
            raw = extra.pop("bugs")
            faults = {int(fault["id"]): fault.get("faultCode")
                      for fault in extra.get("faults") or ()}
            found = {int(entry["id"]): _bug_from_rest(entry) for entry in raw}
        except (bugzilla.BugzillaError, requests.RequestException, ValueError,
                KeyError, TypeError) as exc:
            raise self._unavailable(f"fetching {len(chunk)} bugs", exc) from None
        result: dict[int, Bug] = {}
        for bug_id in chunk:
            if bug_id in found:
                result[bug_id] = found[bug_id]
            elif faults.get(bug_id) == FAULT_NOT_FOUND:
                result[bug_id] = Bug.unknown_number(bug_id)
            else:
                result[bug_id] = Bug.denied(bug_id)
        return result

    def close(self, ids: Iterable[int], resolution: str, comment: str,
              status: str = "RESOLVED") -> list[int]:
        """Set status+resolution with the comment (one PUT each); the ids changed.

        Bugs already there are left alone, so a re-run after a failure adds no second
        comment; status and comment go in the same PUT, so neither lands without the
        other. Denied or unknown bugs are skipped (logged): they cannot be changed.
        """
        import bugzilla
        import requests

        current = self.fetch(ids)
        client = self._connect()
        closed: list[int] = []
        for bug_id, bug in current.items():
            if not bug.known:
                log.warning("bug %s not closed: %s", bug_id,
                            "access denied" if bug.access_denied else "no such bug")
                continue
            if bug.status == status and bug.resolution == resolution:
                continue
            update = client.build_update(status=status, resolution=resolution,
                                         comment=comment)
            try:
                client.update_bugs([bug_id], update)
            except (bugzilla.BugzillaError, requests.RequestException, ValueError) as exc:
                raise self._unavailable(f"closing bug {bug_id}", exc) from None
            log.info("bug %s: %s %s", bug_id, status, resolution)
            closed.append(bug_id)
        return closed


def _bug_from_rest(raw: dict[str, Any]) -> Bug:
    """A bug from Bugzilla's REST JSON (python-bugzilla hands the dict back as given).

    Deployments differ from Bugzilla 5's documentation: Red Hat's gives `version` (and
    `component`, `target_release`) as lists, fields may be null, `keywords` a string.
    Every field is read by shape, never as a Python repr of one (Bug.from_json does).
    """
    return Bug.read(raw, access_denied=False, missing=False)  # the flags are ours, not REST's


def _items(value: Any) -> list[Any]:
    """A field as its list of values: null -> [], a scalar -> [it], a list as it is."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [item for item in value if item is not None]
    return [value]


def _text(value: Any) -> str:
    """One text: a list of one is its value, several are joined with ", "."""
    if type(value) is str:  # what REST answers nearly always: the rule below, at once
        return value.strip()
    parts = []
    for item in _items(value):
        if isinstance(item, dict):  # a {"name": ...} object, as some deployments nest
            item = item.get("name") or item.get("value") or ""
        text = str(item).strip()
        if text:
            parts.append(text)
    return ", ".join(parts)


def _words(value: Any) -> tuple[str, ...]:
    """Keywords: a list, or one comma-separated string (Bugzilla 4's XML-RPC habit)."""
    if value is None or (type(value) is list and not value):  # most bugs have none
        return ()
    words = []
    for item in _items(value):
        words += [word.strip() for word in _text(item).split(",") if word.strip()]
    return tuple(dict.fromkeys(words))


def _numbers(value: Any) -> tuple[int, ...]:
    """Bug numbers: a list of ints (or numeric strings); anything else is ignored."""
    if type(value) is list and all(type(item) is int and item >= 0 for item in value):
        return tuple(dict.fromkeys(value))  # REST's own form: what the rule below keeps
    numbers = []
    for item in _items(value):
        for part in str(item).replace(",", " ").split():
            if part.isdigit():
                numbers.append(int(part))
    return tuple(dict.fromkeys(numbers))


def tracker_from_env(config_url: str | None) -> BugTracker:
    """The CLI's tracker: `UPDRAFT_BUGZILLA_URL` over the config's `bugzilla.url`."""
    url = os.environ.get(URL_ENV, "").strip() or (config_url or "").strip()
    if not url:
        raise ConfigError(f"no Bugzilla URL: set bugzilla.url in the config or {URL_ENV}")
    return BugTracker(url, api_key=os.environ.get(API_KEY_ENV, "").strip() or None)

"""A REDCap project read through its API (URL and token) -> a cartkit study folder.

The API gives the same two things a user downloads by hand: the records as the flat CSV of
"CSV (raw data)" (raw values, field names as headers, unique event names, the
``redcap_repeat_instrument`` / ``redcap_repeat_instance`` columns) and the data dictionary
(``content=metadata``, the API's ``field_name, form_name, ...`` header, which
``read_dictionary`` reads). They are fetched with PyCap (PyPI ``pycap``, import name
``redcap``; the optional extra ``cartkit[redcap]``), written to a private temporary folder
and imported by ``redcap_import.import_records``: there is one import path, not a second
parser. The temporary files are removed afterwards.

The token is a password to the project's patient data: it is read from a file or from the
environment variable ``CARTKIT_REDCAP_TOKEN``, never from the command line (where it would
stay in the shell history and be visible to other users in the process list), and it never
appears in a message or a file cartkit writes (``RedcapApiError`` messages are scrubbed of it).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping as AnyMapping
from pathlib import Path
from urllib.parse import urlsplit

from cartkit.interop.redcap_import import ImportResult, import_records

TOKEN_ENV = "CARTKIT_REDCAP_TOKEN"
RECORDS_FILE = "redcap-api-records.csv"
DICTIONARY_FILE = "redcap-api-dictionary.csv"
TIMEOUT_S = (30, 600)  # connect, read: a large project's export takes minutes
_TOKEN = re.compile(r"[0-9A-Fa-f]{32}")  # a REDCap API token: 32 hexadecimal characters (PyCap checks the length)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class RedcapApiError(Exception):
    """The API could not be used: a missing PyCap, a bad URL or token, a network or REDCap error.
    The message is one line and never holds the token."""


def read_token(token_file: str | Path | None = None, environ: AnyMapping[str, str] | None = None) -> str:
    """The API token from ``token_file`` (its only content, surrounding white space ignored) or, without
    one, from the environment variable ``CARTKIT_REDCAP_TOKEN``."""
    environ = os.environ if environ is None else environ
    if token_file is not None:
        where = f"the token file {token_file}"
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise RedcapApiError(f"cannot read {where}: {getattr(exc, 'strerror', None) or type(exc).__name__}") \
                from None
    else:
        where = f"the environment variable {TOKEN_ENV}"
        token = environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise RedcapApiError(f"no API token: give --token-file FILE or set {TOKEN_ENV} "
                                 "(a token is never given on the command line)")
    if not _TOKEN.fullmatch(token):
        raise RedcapApiError(f"{where} does not hold a REDCap API token (32 hexadecimal characters; REDCap's "
                             "API page shows it)")
    return token


def check_url(url: str) -> str:
    """The API URL as PyCap wants it (``https://host/.../api/``); plain http only to this machine, since the
    token would otherwise cross the network unencrypted."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RedcapApiError(f"{url!r} is not an http(s) URL: give the project's API URL, e.g. "
                             "https://redcap.example.org/api/")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise RedcapApiError(f"{url} is plain http: the token would cross the network unencrypted; use https")
    if parts.query or parts.fragment:
        raise RedcapApiError(f"{url}: the API URL has no query or fragment (e.g. https://redcap.example.org/api/)")
    out = url.strip()
    if not out.endswith("/"):
        out += "/"
    if not out.endswith("/api/"):
        raise RedcapApiError(f"{url} is not a REDCap API URL: it ends with /api/ (REDCap's API page shows it)")
    return out


def _scrub(text: str, token: str) -> str:
    return " ".join(text.replace(token, "<token>").split())[:300]


def _api_error(text: str) -> str | None:
    """REDCap's error answer, if ``text`` is one: a CSV export's errors come as XML
    (``<error>...</error>``), JSON (``{"error": ...}``) or ``ERROR: ...`` text."""
    head = text.lstrip()[:2000]
    if head.startswith("{"):
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and "error" in answer:
            return str(answer["error"])
    found = re.search(r"<error>(.*?)</error>", head, re.S | re.I)
    if found:
        return found.group(1)
    if head.lower().startswith(("error:", "<?xml", "<html", "<!doctype")):
        return head.splitlines()[0] if head.lower().startswith("error:") else "the server answered with a web page " \
            "or XML, not CSV: is this the project's API URL?"
    return None


def fetch(url: str, token: str) -> tuple[str, str]:
    """The project's records (flat CSV, raw values and headers, unique event names) and data dictionary
    (CSV) through PyCap. Raises ``RedcapApiError`` (one line, without the token) when PyCap is missing,
    the server cannot be reached, or REDCap refuses."""
    url = check_url(url)
    try:
        import redcap
    except ImportError:
        raise RedcapApiError("the REDCap API needs PyCap: pip install 'cartkit[redcap]' (or export the "
                             "records and the data dictionary in REDCap and import the files)") from None
    # PyCap's RedcapError is requests' RequestException: raised as such, it is REDCap's error answer; its
    # subclasses are the network's errors (ConnectionError, Timeout, SSLError) and an answer that is not JSON
    redcap_error = getattr(redcap, "RedcapError", None)
    step = "connect"
    try:
        project = redcap.Project(url, token, timeout=TIMEOUT_S)
        # the dictionary first, as CSV text: an error answer (a wrong token, no API rights) comes back as
        # REDCap's own message, which PyCap's JSON requests would hide behind a decoding error
        step = "export the data dictionary"
        metadata = project.export_metadata(format_type="csv")
        error = _api_error(metadata) if isinstance(metadata, str) else None
        if error is not None:
            raise RedcapApiError(f"REDCap at {url} refused to {step}: {_scrub(error, token)}")
        step = "export the records"
        records = project.export_records(format_type="csv", raw_or_label="raw", raw_or_label_headers="raw",
                                         event_name="unique", export_checkbox_labels=False)
    except RedcapApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - PyCap's own checks are assertions whose text holds the token:
        # every message is scrubbed of it
        if redcap_error is not None and type(exc) is redcap_error:
            message = _api_error(str(exc)) or str(exc)
            raise RedcapApiError(f"REDCap at {url} refused to {step}: {_scrub(message, token)}") from None
        if isinstance(exc, ValueError):  # requests' JSONDecodeError
            raise RedcapApiError(f"could not {step} ({url}): the answer is not what REDCap's API sends "
                                 f"(is this the project's API URL?): {_scrub(str(exc), token)}") from None
        raise RedcapApiError(f"could not {step} ({url}): {type(exc).__name__}: {_scrub(str(exc), token)}") from None
    for what, text in (("records", records), ("data dictionary", metadata)):
        if not isinstance(text, str):
            raise RedcapApiError(f"REDCap at {url} sent the {what} as {type(text).__name__}, not CSV text")
        error = _api_error(text)
        if error is not None:
            raise RedcapApiError(f"REDCap at {url} refused to export the {what}: {_scrub(error, token)}")
    return records, metadata


def import_from_api(url: str, token: str, out_dir: str | Path, *, study_id: str | None = None,
                    **import_kwargs) -> ImportResult:
    """Fetch a project's records and data dictionary through the API and import them exactly as the files
    would be (``import_records``: same problems, same study folder). ``import_kwargs`` are
    ``import_records``'s (``keep_going``, ``study_toml``, ``mapping``). Problems name the file
    ``redcap-api-records.csv`` (the records as the API sent them)."""
    records, metadata = fetch(url, token)
    with tempfile.TemporaryDirectory(prefix="cartkit-redcap-api-") as tmp:  # private (0700): patient data
        records_path, dictionary_path = Path(tmp) / RECORDS_FILE, Path(tmp) / DICTIONARY_FILE
        records_path.write_text(records, encoding="utf-8", newline="")
        dictionary_path.write_text(metadata, encoding="utf-8", newline="")
        return import_records(records_path, dictionary_path, out_dir, study_id=study_id or "redcap-api",
                              **import_kwargs)

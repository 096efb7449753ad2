"""`cartkit redcap import --url`: the REDCap API through PyCap, tested without network or PyCap (a fake
``redcap`` module whose Project returns the example's files, as the API would send them)."""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartkit.cli import app
from cartkit.interop.redcap_api import (
    TOKEN_ENV,
    RedcapApiError,
    check_url,
    fetch,
    import_from_api,
    read_token,
)
from cartkit.interop.redcap_dictionary import API_COLUMNS, DICTIONARY_COLUMNS
from cartkit.interop.redcap_export import export_study, write_dictionary
from cartkit.interop.redcap_import import IMPORT_PROBLEMS_CSV, RedcapImportError, import_records
from cartkit.study.load import load_study

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed-study"
EXAMPLE = ROOT / "examples" / "redcap-study"
URL = "https://redcap.example.org/api/"
TOKEN = "0123456789ABCDEF0123456789ABCDEF"


def _api_metadata(dictionary: Path) -> str:
    """The data dictionary as the API's ``content=metadata&format=csv`` sends it (its own header)."""
    rows = list(csv.reader(io.StringIO(dictionary.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == DICTIONARY_COLUMNS
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([list(API_COLUMNS), *rows[1:]])
    return out.getvalue()


class _RedcapError(OSError):
    """PyCap's RedcapError, which is requests' RequestException: REDCap's error answer."""


class _ConnectionError(_RedcapError):
    """requests' ConnectionError, a RequestException."""


class _JSONDecodeError(_RedcapError, ValueError):
    """requests' JSONDecodeError: an answer that is not JSON (PyCap's own metadata request)."""


class _Calls:
    def __init__(self):
        self.project: list[tuple] = []
        self.records: list[dict] = []


def _fake_redcap(monkeypatch, records: str, metadata: str, fail: BaseException | None = None,
                 fail_at: str = "records") -> _Calls:
    calls = _Calls()

    class Project:
        def __init__(self, url, token, verify_ssl=True, **request_kwargs):
            calls.project.append((url, token, request_kwargs))
            if fail is not None and fail_at == "init":
                raise fail

        def export_records(self, **kwargs):
            calls.records.append(kwargs)
            if fail is not None and fail_at == "records":
                raise fail
            return records

        def export_metadata(self, **kwargs):
            assert kwargs == {"format_type": "csv"}
            return metadata

    module = types.ModuleType("redcap")
    module.Project, module.RedcapError = Project, _RedcapError
    monkeypatch.setitem(sys.modules, "redcap", module)
    return calls


def _tree(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- the same import as the files


@pytest.fixture(scope="module")
def seed_export(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redcap-api")
    write_dictionary(tmp / "dictionary.csv")
    export_study(load_study(SEED), tmp / "records.csv")
    return tmp


def test_api_import_of_a_clean_project_equals_the_file_import(seed_export, tmp_path, monkeypatch):
    records = (seed_export / "records.csv").read_text(encoding="utf-8")
    calls = _fake_redcap(monkeypatch, records, _api_metadata(seed_export / "dictionary.csv"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    result = import_from_api(URL, TOKEN, tmp_path / "api", study_toml=SEED / "study.toml")
    by_file = import_records(seed_export / "records.csv", seed_export / "dictionary.csv", tmp_path / "file",
                             study_toml=SEED / "study.toml")
    assert result.problems == by_file.problems == [] and result.records == by_file.records == 13
    api, file = _tree(tmp_path / "api"), _tree(tmp_path / "file")
    assert api.pop(".cartkit-redcap-import") != file.pop(".cartkit-redcap-import")  # names its source
    assert api == file
    # what PyCap was asked for: the flat CSV of an export file, raw values and headers, unique event names
    assert calls.project == [(URL, TOKEN, {"timeout": (30, 600)})]
    assert calls.records == [{"format_type": "csv", "raw_or_label": "raw", "raw_or_label_headers": "raw",
                              "event_name": "unique", "export_checkbox_labels": False}]
    assert not any(TOKEN in text for text in _tree(tmp_path / "api").values())
    assert sorted(tmp_path.iterdir()) == [tmp_path / "api", tmp_path / "file", tmp_path / "tmp"]
    assert list((tmp_path / "tmp").iterdir()) == []  # the fetched files are removed


def test_api_import_of_the_example_reports_the_same_problems_as_the_files(tmp_path, monkeypatch):
    """Longitudinal, repeating instruments, labels, a checkbox, broken values: the same problems, located
    the same way, nothing written; with keep_going the same folder."""
    _fake_redcap(monkeypatch, (EXAMPLE / "records.csv").read_text(encoding="utf-8"),
                 _api_metadata(EXAMPLE / "dictionary.csv"))
    with pytest.raises(RedcapImportError) as by_api:
        import_from_api(URL, TOKEN, tmp_path / "api")
    with pytest.raises(RedcapImportError) as by_file:
        import_records(EXAMPLE / "records.csv", EXAMPLE / "dictionary.csv", tmp_path / "file")
    assert by_api.value.record_problems == by_file.value.record_problems
    assert len([p for p in by_api.value.record_problems if p.severity == "error"]) >= 5
    assert list(tmp_path.iterdir()) == []
    result = import_from_api(URL, TOKEN, tmp_path / "api", keep_going=True, study_id="records")
    by_file = import_records(EXAMPLE / "records.csv", EXAMPLE / "dictionary.csv", tmp_path / "file",
                             keep_going=True)
    assert result.left_out == by_file.left_out == ["SIM-0001", "SIM-0002", "SIM-0003"]
    api, file = _tree(tmp_path / "api"), _tree(tmp_path / "file")
    assert api.pop(IMPORT_PROBLEMS_CSV).replace("redcap-api-records.csv", "records.csv") == \
        file.pop(IMPORT_PROBLEMS_CSV)
    api.pop(".cartkit-redcap-import"), file.pop(".cartkit-redcap-import")
    assert api == file


# --------------------------------------------------------------------------- the token and the URL


def test_token_comes_from_a_file_or_the_environment_and_is_checked(tmp_path):
    (tmp_path / "t").write_text(f"  {TOKEN}\n", encoding="utf-8")
    assert read_token(tmp_path / "t", environ={}) == TOKEN
    assert read_token(None, environ={TOKEN_ENV: TOKEN}) == TOKEN
    with pytest.raises(RedcapApiError, match="no API token: give --token-file"):
        read_token(None, environ={})
    with pytest.raises(RedcapApiError, match="cannot read the token file"):
        read_token(tmp_path / "missing", environ={})
    bad = "not-a-token-" + TOKEN
    (tmp_path / "bad").write_text(bad, encoding="utf-8")
    with pytest.raises(RedcapApiError, match="does not hold a REDCap API token") as info:
        read_token(tmp_path / "bad", environ={})
    assert bad not in str(info.value) and TOKEN not in str(info.value)


@pytest.mark.parametrize("url, why", [
    ("redcap.example.org/api/", "not an http"),
    ("http://redcap.example.org/api/", "plain http"),
    ("https://redcap.example.org/redcap_v14/index.php", "ends with /api/"),
    ("https://redcap.example.org/api/?token=x", "no query"),
])
def test_bad_urls_are_refused_before_any_request(url, why):
    with pytest.raises(RedcapApiError, match=why):
        check_url(url)


def test_url_forms_that_are_accepted():
    assert check_url("https://redcap.example.org/api") == URL
    assert check_url("http://localhost:8080/api/") == "http://localhost:8080/api/"


# --------------------------------------------------------------------------- errors: one line, no token


def test_missing_pycap_is_one_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "redcap", None)  # import redcap raises ImportError
    with pytest.raises(RedcapApiError, match=r"needs PyCap: pip install 'cartkit\[redcap\]'"):
        fetch(URL, TOKEN)


@pytest.mark.parametrize("fail, fail_at, message", [
    (_ConnectionError(f"Max retries exceeded (token={TOKEN})"), "records",
     "could not export the records (https://redcap.example.org/api/): _ConnectionError: Max retries exceeded "
     "(token=<token>)"),
    (_JSONDecodeError("Expecting value: line 1 column 1 (char 0)"), "records", "the answer is not what REDCap's "
     "API sends (is this the project's API URL?)"),
    (TimeoutError("read timed out"), "records", "could not export the records"),
    (AssertionError(f"Incorrect token format '{TOKEN}'"), "init", "could not connect"),
])
def test_network_errors_are_one_line_without_the_token(seed_export, monkeypatch, tmp_path, fail, fail_at,
                                                       message):
    _fake_redcap(monkeypatch, "", "", fail=fail, fail_at=fail_at)
    with pytest.raises(RedcapApiError) as info:
        import_from_api(URL, TOKEN, tmp_path / "study")
    assert message in str(info.value) and TOKEN not in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("answer, shown", [
    ('<?xml version="1.0" encoding="UTF-8" ?><hash><error>You do not have permissions to use the API'
     '</error></hash>', "refused to export the records: You do not have permissions to use the API"),
    ('{"error":"The value of the parameter \\"token\\" is not valid"}', 'refused to export the records: '
     'The value of the parameter "token" is not valid'),
    ("<!DOCTYPE html><html><body>Login</body></html>", "a web page or XML, not CSV"),
])
@pytest.mark.parametrize("what", ["records", "data dictionary"])
def test_redcap_refusals_sent_as_the_answer_are_one_line(monkeypatch, tmp_path, answer, shown, what):
    """A CSV export's error comes back as XML or JSON text, which PyCap returns as the data."""
    if what == "records":
        _fake_redcap(monkeypatch, answer, "field_name,form_name\npatient_id,patients\n")
    else:
        _fake_redcap(monkeypatch, "patient_id\nP1\n", answer)
    with pytest.raises(RedcapApiError) as info:
        import_from_api(URL, TOKEN, tmp_path / "study")
    assert shown.replace("the records", f"the {what}") in str(info.value)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_redcap_error_raised_by_pycap_is_one_line(monkeypatch, tmp_path):
    _fake_redcap(monkeypatch, "", "", fail=_RedcapError(f"ERROR: You do not have API rights ({TOKEN})"))
    with pytest.raises(RedcapApiError) as info:
        import_from_api(URL, TOKEN, tmp_path / "study")
    assert str(info.value) == (f"REDCap at {URL} refused to export the records: ERROR: You do not have API "
                               "rights (<token>)")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the command


def test_cli_import_from_the_api_with_a_token_file_or_the_environment(seed_export, tmp_path, monkeypatch):
    _fake_redcap(monkeypatch, (seed_export / "records.csv").read_text(encoding="utf-8"),
                 _api_metadata(seed_export / "dictionary.csv"))
    (tmp_path / "token").write_text(TOKEN, encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(app, ["redcap", "import", "--url", URL, "--token-file", str(tmp_path / "token"),
                              str(tmp_path / "a"), "--study-toml", str(SEED / "study.toml")])
    assert out.exit_code == 0, out.output
    assert "wrote 13 record(s)" in out.output and TOKEN not in out.output
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    out = runner.invoke(app, ["redcap", "import", "--url", URL, str(tmp_path / "b")])
    assert out.exit_code == 0, out.output
    assert load_study(tmp_path / "b").patients.height == 13


def test_cli_api_errors_are_one_error_line_never_a_traceback(seed_export, tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    runner = CliRunner()
    out = runner.invoke(app, ["redcap", "import", "--url", URL, str(tmp_path / "s")])
    assert out.exit_code == 1 and "error: no API token" in out.output and "Traceback" not in out.output
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    _fake_redcap(monkeypatch, "", "", fail=_ConnectionError(f"refused {TOKEN}"))
    out = runner.invoke(app, ["redcap", "import", "--url", URL, str(tmp_path / "s")])
    assert out.exit_code == 1 and "error: could not export the records" in out.output
    assert TOKEN not in out.output and "Traceback" not in out.output and isinstance(out.exception, SystemExit)
    for args, why in (([str(tmp_path / "s"), str(tmp_path / "t")], "give only OUT_DIR"),
                      (["-d", str(EXAMPLE / "dictionary.csv"), str(tmp_path / "s")], "leave out --dictionary"),
                      ([], "give OUT_DIR")):
        out = runner.invoke(app, ["redcap", "import", "--url", URL, *args])
        assert out.exit_code == 1 and why in out.output, out.output
    out = runner.invoke(app, ["redcap", "import", str(EXAMPLE / "records.csv"), str(tmp_path / "s")])
    assert out.exit_code == 1 and "--dictionary DICT.csv" in out.output
    out = runner.invoke(app, ["redcap", "import", "--token-file", "x", str(EXAMPLE / "records.csv"),
                              str(tmp_path / "s")])
    assert out.exit_code == 1 and "--token-file goes with --url" in out.output
    assert not (tmp_path / "s").exists()
    monkeypatch.setitem(sys.modules, "redcap", None)
    out = runner.invoke(app, ["redcap", "import", "--url", URL, str(tmp_path / "s")])
    assert out.exit_code == 1 and "pip install 'cartkit[redcap]'" in out.output, out.output


# --------------------------------------------------------------------------- the real PyCap, a local server


def test_real_pycap_against_a_local_api_server(tmp_path):
    """PyCap itself (skipped where it is not installed) against a local HTTP server that answers as REDCap's
    API does: the POST parameters PyCap sends, a JSON metadata request of its own, the XML error answer of a
    wrong token. Catches a PyCap release that changes what cartkit relies on."""
    pytest.importorskip("redcap")
    import json
    import threading
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    metadata = _api_metadata(EXAMPLE / "dictionary.csv")
    records = (EXAMPLE / "records.csv").read_text(encoding="utf-8")
    seen = []

    class Api(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            seen.append({k: v[0] for k, v in form.items() if k == "content" or not k.startswith("fields")})
            if form["token"][0] != TOKEN:
                status, text = 403, ('<?xml version="1.0" encoding="UTF-8" ?><hash><error>You do not have '
                                     'permissions to use the API</error></hash>')
            elif form["content"][0] == "record":
                status, text = 200, records
            elif form["format"][0] == "json":
                status, text = 200, json.dumps(list(csv.DictReader(io.StringIO(metadata))))
            else:
                status, text = 200, metadata
            self.send_response(status)
            self.end_headers()
            self.wfile.write(text.encode("utf-8"))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/"
        result = import_from_api(url, TOKEN, tmp_path / "api", keep_going=True)
        by_file = import_records(EXAMPLE / "records.csv", EXAMPLE / "dictionary.csv", tmp_path / "file",
                                 keep_going=True)
        assert result.left_out == by_file.left_out and result.records == by_file.records == 1
        record_request = next(s for s in seen if s["content"] == "record")
        assert {k: record_request.get(k) for k in ("format", "type", "rawOrLabel", "rawOrLabelHeaders",
                                                    "eventName")} == \
            {"format": "csv", "type": "flat", "rawOrLabel": "raw", "rawOrLabelHeaders": "raw", "eventName": "unique"}
        with pytest.raises(RedcapApiError, match="refused to export the data dictionary: You do not have "
                                                 "permissions to use the API"):
            import_from_api(url, "F" * 32, tmp_path / "other")
    finally:
        server.shutdown()
        thread.join()
        server.server_close()

"""The `caseload validate` command: summary, exit codes, masked rejected-rows CSV."""

from __future__ import annotations

import re

import pandas as pd
from typer.testing import CliRunner

from caseload.cli import app
from caseload.privacy import is_valid_bsn

HEADER = ("Dossiernr;Clientnummer;geboortejaar;geslacht;Startdatum periodiek algemeen;"
          "Einddatum periodiek algemeen;Oorspronkelijke begindatum uitkeringsdossier;Omschrijving leefvorm;"
          "Oorzaak bijstandsafhankelijkheid;Omschrijving einde bijstandsafhankelijkheid;Gemeentecode")
GOOD = "D1;1001;1980;M;01-01-2020;31-01-2020;01-01-2020;Alleenstaande;11;Aanvaarding werk;GM0168"
BSN = "111222333"  # passes the 11-test

runner = CliRunner()


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_all_rows_load_exit_0(tmp_path):
    path = _write(tmp_path / "ok.csv", [HEADER, GOOD])
    result = runner.invoke(app, ["validate", str(path), "--peildatum", "2021-12-31"])
    assert result.exit_code == 0, result.output
    assert "ok.csv" in result.output and "Gelezen" in result.output


def test_rejections_exit_1_and_masked_csv(tmp_path):
    lines = [
        HEADER, GOOD,
        f"D2;{BSN};1980;M;31-02-2020;;01-01-2020;Alleenstaande;11;;GM0168",      # bad date, BSN as id
        f"D3;1003;1980;M;01-01-2020;;01-01-2020;BSN {BSN};11;;GM0168",           # unknown text holding a BSN
        f"D4;{BSN};2019;V;01-01-2020;;01-01-2020;Alleenstaande;11;;GM0168",      # impossible age
        f"{BSN};{BSN};1980",                                                    # bad line
        GOOD,                                                                    # exact duplicate
    ]
    path = _write(tmp_path / "in.csv", lines)
    out = tmp_path / "rej" / "rejected.csv"
    result = runner.invoke(app, ["validate", str(path), "--out", str(out), "--peildatum", "2021-12-31"])
    assert result.exit_code == 1, result.output
    assert "bad_date" in result.output or "bad_line" in result.output
    text = out.read_text(encoding="utf-8-sig")
    assert BSN not in text
    runs = re.findall(r"(?<!\d)\d{8,9}(?!\d)", text)
    assert not [r for r in runs if is_valid_bsn(r)]
    rej = pd.read_csv(out, sep=";", dtype=str)
    assert len(rej) == 5
    assert set(rej["reason"]) == {"bad_date", "unknown_code", "impossible_age", "bad_line", "exact_duplicate"}
    assert rej["row"].astype(int).tolist() == [3, 4, 5, 6, 7]


def test_whole_file_error_exit_2_without_traceback(tmp_path):
    path = _write(tmp_path / "cols.csv", [HEADER.replace("Startdatum periodiek algemeen",
                                                          "Startdatum periodiek"), GOOD])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "cols.csv" in result.output and "closest match 'Startdatum periodiek'" in result.output


def test_mapping_file_option(tmp_path):
    path = _write(tmp_path / "m.csv", [HEADER.replace("Clientnummer", "Klantnr"), GOOD])
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[extract.mapping]\nclient_id = "Klantnr"\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path), "--mapping", str(mapping), "--peildatum", "2021-12-31"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["validate", str(path), "--mapping", "nope"])
    assert bad.exit_code == 2 and "neither a preset nor a file" in bad.output


def _english_words(text: str) -> set[str]:
    return {w for w in ("Read", "Loaded", "Rejected", "rejected row", "Use --out", "File", "Note:",
                        "Error:") if w in text}


def test_console_is_dutch_by_default_and_english_with_language_en(tmp_path):
    """Issue 12: the console of `validate` mixed English lines into a Dutch run."""
    lines = [HEADER, GOOD, "D2;1002;1980;M;31-02-2020;;01-01-2020;Alleenstaande;11;;GM0168"] + \
        [GOOD.replace("D1;1001", f"D{i};{1000 + i}") for i in range(10, 1210)]
    path = _write(tmp_path / "in.csv", lines)
    nl = runner.invoke(app, ["validate", str(path), "--peildatum", "2021-12-31"])
    assert nl.exit_code == 1, nl.output
    assert "Afgewezen" in nl.output and "Met --out afgewezen.csv" in nl.output
    assert "Uitkeringen" in nl.output and "1.202" in nl.output  # Dutch table name, thousands dot
    assert not _english_words(nl.output), nl.output
    toml = tmp_path / "en.toml"
    toml.write_text('[report]\nlanguage = "en"\n', encoding="utf-8")
    en = runner.invoke(app, ["validate", str(path), "--peildatum", "2021-12-31", "--config", str(toml)])
    assert en.exit_code == 1, en.output
    assert "Rejected" in en.output and "Use --out rejected.csv" in en.output and "1,202" in en.output
    assert "Afgewezen" not in en.output


def test_error_prefix_and_library_warnings_follow_the_language(tmp_path):
    """A library warning in the catalogue is printed in Dutch; the prefix too."""
    import warnings

    from caseload.cli import _app
    from caseload.privacy.disclosure import suppress_long

    # The warning as the library issues it (a group of one row with a small count).
    df = pd.DataFrame({"g": ["a", "b", "b"], "k": ["x", "y", "z"], "n": [3, 10, 20]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        suppress_long(df, "n", by="g", threshold=5)
    messages = [str(w.message) for w in caught if "only row of their group" in str(w.message)]
    assert messages, [str(w.message) for w in caught]
    _app.set_console_language("nl")
    dutch = _app.console_text(messages[0])
    assert dutch.startswith("1 onderdrukte telling(en) zijn de enige rij van hun groep"), dutch
    _app.set_console_language("en")
    assert _app.console_text(messages[0]) == messages[0]
    _app.set_console_language("nl")
    assert _app.console_text("some other message") == "some other message"
    bad = runner.invoke(app, ["validate", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 2 and "Fout:" in bad.output


def test_error_frame_is_dutch_on_the_console_and_english_in_the_exception(tmp_path):
    """Issue 12: 'Fout: file ..., row ... Fix: ...' mixed English frame words into a Dutch line."""
    from caseload.errors import CaseloadError

    err = CaseloadError("not a date.", file="a.csv", row=3, column="start", fix="Use dd-mm-jjjj.")
    assert str(err) == "file 'a.csv', row 3, column 'start': not a date. Fix: Use dd-mm-jjjj."
    missing = str(tmp_path / "missing.csv")
    nl = runner.invoke(app, ["validate", missing], env={"COLUMNS": "300"})
    flat = " ".join(nl.output.split())
    assert nl.exit_code == 2 and f"Fout: bestand '{missing}'" in flat and "Oplossing:" in flat, flat
    assert "Fix:" not in flat and "file '" not in flat
    toml = tmp_path / "en.toml"
    toml.write_text('[report]\nlanguage = "en"\n', encoding="utf-8")
    en = runner.invoke(app, ["validate", missing, "--config", str(toml)], env={"COLUMNS": "300"})
    flat = " ".join(en.output.split())
    assert en.exit_code == 2 and f"Error: file '{missing}'" in flat and "Fix:" in flat, flat


def test_synth_console_is_dutch_by_default_and_english_with_lang_en(tmp_path):
    nl = runner.invoke(app, ["synth", "--clients", "50", "--out", str(tmp_path / "nl")], env={"COLUMNS": "200"})
    assert nl.exit_code == 0, nl.output
    flat = " ".join(nl.output.split())
    assert "Gesimuleerd in" in flat and "Uitkeringen" in flat and "geschreven in" in flat and "rijen" in flat
    assert not {w for w in ("Simulated", "written in", "rows", "Benefits", "rejected") if w in flat}, flat
    en = runner.invoke(app, ["synth", "--clients", "50", "--out", str(tmp_path / "en"), "--lang", "en"],
                       env={"COLUMNS": "200"})
    flat = " ".join(en.output.split())
    assert en.exit_code == 0 and "Simulated in" in flat and "Benefits" in flat and "written in" in flat, flat
    with_error = runner.invoke(app, ["synth", "--clients", "10", "--out", str(tmp_path / "x"),
                                     "--municipalities", "XX"])
    assert with_error.exit_code == 2 and "Oplossing:" in with_error.output

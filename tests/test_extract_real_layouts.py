"""Extracts as real administrations write them (issue 15) and the input edges of issue 11."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from caseload.config import load_config
from caseload.errors import ConfigError, ExtractError
from caseload.extract import read_extract
from caseload.extract.parse import normalise_text
from caseload.privacy import load_key, pseudonymize

# The layout of the VNG "Sturen op bijstand" analysis: one municipality, no municipality column,
# no end reason, 'Kode groep' (the R script keeps group 02, persons 21-64).
VNG_HEADER = ["Clientnummer", "geboortejaar", "geslacht", "Kode groep", "Startdatum periodiek algemeen",
              "Einddatum periodiek algemeen", "Oorspronkelijke begindatum uitkeringsdossier",
              "Omschrijving leefvorm", "Oorzaak bijstandsafhankelijkheid"]
# household texts as this administration writes them (a fifth of the rows were rejected before)
VNG_HOUSEHOLDS = ["Alleenstaande", "Gehuwd / Samenwonend", "Alleenstaande ouder", "Anders", "Samenwonend",
                  "Onbekend", "gehuwd/samenwonend met kinderen"]
VNG_EXPECTED = {"Alleenstaande": "alleenstaand", "Gehuwd / Samenwonend": "paar",
                "Alleenstaande ouder": "alleenstaande_ouder", "Anders": "overig", "Samenwonend": "paar",
                "Onbekend": "overig", "gehuwd/samenwonend met kinderen": "paar_met_kinderen"}
# inflow reasons as codes (with and without a leading zero) and as the code list's descriptions
VNG_INFLOW = ["11", "02", "14", "Beëindiging studie", "41", "Einde Arb. dienstbetr./ZW", "40"]


def vng_rows(n_clients: int = 21, seed: int = 3) -> list[list[str]]:
    """Monthly period rows of ``n_clients`` clients; a third of them with a second benefit."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_clients):
        client = str(100_000 + 7 * i)
        group = ("02", "01", "03")[i % 3]
        by = str(1960 + i)
        sex = "MV"[i % 2]
        household = VNG_HOUSEHOLDS[i % len(VNG_HOUSEHOLDS)]
        inflow = VNG_INFLOW[i % len(VNG_INFLOW)]
        benefits = [(pd.Timestamp("2019-01-01") + pd.DateOffset(months=int(rng.integers(0, 12))), 6)]
        if i % 3 == 0:
            benefits.append((benefits[0][0] + pd.DateOffset(months=9), 4))
        for b, (start, months) in enumerate(benefits):
            for m in range(months):
                p0 = start + pd.DateOffset(months=m)
                p1 = p0 + pd.DateOffset(months=1) - pd.Timedelta(days=1)
                still_open = b == len(benefits) - 1 and m == months - 1 and i % 2 == 0
                rows.append([client, by, sex, group, f"{p0:%d-%m-%Y}", "" if still_open else f"{p1:%d-%m-%Y}",
                             f"{start:%d-%m-%Y}", household, inflow])
    return rows


def write_vng_csv(path, rows, title_rows=()):
    lines = [*title_rows, ";".join(VNG_HEADER)] + [";".join(r) for r in rows]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def pseudo(value, domain="client"):
    return pseudonymize([value], load_key(), domain).iloc[0]


def test_vng_layout_loads_without_config_and_without_a_rejected_row(tmp_path):
    rows = vng_rows()
    path = write_vng_csv(tmp_path / "bijstand.csv", rows)
    with pytest.warns(UserWarning) as record:
        cs = read_extract([path], mapping="gws", peildatum="2020-12-31")
    assert len(cs.rejected) == 0
    rep = cs.report.iloc[0]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (len(rows), len(rows), 0)
    assert rep.unknown_columns == ""  # 'Kode groep' is a known column now
    messages = [str(w.message) for w in record]
    assert sum("municipality" in m for m in messages) == 1
    assert sum("end reason" in m for m in messages) == 1
    assert set(cs.spells["municipality"]) == {"onbekend"}
    # 21 clients, every third with a second benefit 3 months after the first ended
    assert cs.clients["client_id"].nunique() == 21 and len(cs.spells) == 21 + 7
    by_client = cs.clients.set_index("client_id")
    for i, household in enumerate(VNG_HOUSEHOLDS):
        assert by_client.loc[pseudo(str(100_000 + 7 * i)), "household"] == VNG_EXPECTED[household]
    first = cs.spells.sort_values("start_date").groupby("client_id").first()
    assert first.loc[pseudo("100007"), "inflow_reason"] == "2"  # "02" is code 2
    assert first.loc[pseudo(str(100_000 + 7 * 3)), "inflow_reason"] == "1"  # Beëindiging studie
    assert first.loc[pseudo(str(100_000 + 7 * 5)), "inflow_reason"] == "11"  # its description


def test_municipality_keyword_and_groups_filter(tmp_path):
    rows = vng_rows()
    path = write_vng_csv(tmp_path / "bijstand.csv", rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = read_extract(path, peildatum="2020-12-31", municipality="GM0168", groups=["2"])
    assert set(cs.spells["municipality"]) == {"GM0168"}
    in_group = sum(r[3] == "02" for r in rows)
    rep = cs.report.iloc[0]
    assert (rep.rows_loaded, rep.rows_excluded, rep.rows_read) == (in_group, len(rows) - in_group, len(rows))
    assert rep.rows_read == rep.rows_loaded + rep.rows_rejected + rep.rows_excluded
    assert cs.clients["client_id"].nunique() == 7  # clients 0, 3, 6, ... are in group 02
    # the same from the config
    cfg = load_config(None, extract={"groups": ["02"], "municipality": "GM0168"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = read_extract(path, peildatum="2020-12-31", config=cfg)
    pd.testing.assert_frame_equal(again.spells, cs.spells)
    # groups set, but no such column: the file is refused with the fix
    plain = write_vng_csv(tmp_path / "nogroup.csv", [r[:3] + r[4:] for r in rows])
    plain.write_text(plain.read_text().replace("Kode groep;", ""), encoding="utf-8")
    with pytest.raises(ExtractError, match="no column 'Kode groep'.*remove \\[extract\\] groups"):
        read_extract(plain, peildatum="2020-12-31", groups=["02"])


def test_xlsx_with_two_title_rows_loads_and_counts_them(tmp_path):
    import openpyxl

    rows = vng_rows(7)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Bestandsanalyse bijstand gemeente Voorbeeld"])
    ws.append(["Peildatum 31-12-2020", None, "export uit GWS4all"])
    ws.append(VNG_HEADER + ["Opmerking"])
    for r in rows:
        ws.append(r + ["x"])
    wb.save(tmp_path / "vng.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = read_extract(tmp_path / "vng.xlsx", mapping="gws", peildatum="2020-12-31")
        rep = cs.report.iloc[0]
        assert len(cs.rejected) == 0 and rep.rows_loaded == len(rows)
        assert rep.rows_above_header == 2
        assert rep.unknown_columns == "Opmerking"  # listed once, in the file report
        # the header row can be given (keyword or config); a wrong one says what to do
        same = read_extract(tmp_path / "vng.xlsx", peildatum="2020-12-31", header_row=3)
        pd.testing.assert_frame_equal(same.spells, cs.spells)
        with pytest.raises(ExtractError, match="header_row"):
            read_extract(tmp_path / "vng.xlsx", peildatum="2020-12-31", header_row=1)
    # rows of the sheet keep their numbers: the first data row is row 4
    bad = [r[:] for r in rows]
    bad[0][4] = "31-02-2019"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Titel"])
    ws.append([])
    ws.append(VNG_HEADER)
    for r in bad:
        ws.append(r)
    wb.save(tmp_path / "bad.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = read_extract(tmp_path / "bad.xlsx", peildatum="2020-12-31")
    assert cs.rejected["row"].tolist() == [4] and cs.rejected["reason"].tolist() == ["bad_date"]


def test_csv_title_rows_found_and_counted(tmp_path):
    rows = vng_rows(4)
    path = write_vng_csv(tmp_path / "t.csv", rows, title_rows=["Bestandsanalyse bijstand", "", "gemaakt op 1-1-2021"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = read_extract(path, peildatum="2020-12-31")
        assert cs.report.loc[0, "rows_above_header"] == 3 and len(cs.rejected) == 0
        bad = [r[:] for r in rows]
        bad[1][1] = "19x0"
        cs = read_extract(write_vng_csv(tmp_path / "b.csv", bad, title_rows=["Titel"]), peildatum="2020-12-31")
    assert cs.rejected["row"].tolist() == [4]  # title row 1, header row 2, data from row 3


def test_config_sets_the_header_row(tmp_path):
    rows = vng_rows(4)
    # a header with too few known names to be found: set it in the config
    lines = ["x;y", "Clientnummer;geboortejaar;geslacht;Startdatum periodiek algemeen;Einddatum periodiek algemeen;"
             "Oorspronkelijke begindatum uitkeringsdossier;Omschrijving leefvorm;Oorzaak bijstandsafhankelijkheid"]
    lines += [";".join(r[:3] + r[4:]) for r in rows]
    path = tmp_path / "h.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = load_config(None, extract={"header_row": 2})
        cs = read_extract(path, peildatum="2020-12-31", config=cfg)
    assert cs.report.loc[0, "rows_above_header"] == 1 and len(cs.rejected) == 0


@pytest.mark.parametrize("text,code", [
    ("Gehuwd / Samenwonend", "paar"), ("GEHUWD-SAMENWONEND", None), ("  alleenstaande  ouder ", "alleenstaande_ouder"),
    ("(Echt)paar met kinderen", "paar_met_kinderen"), ("Alleenst. ouder", "alleenstaande_ouder"),
    ("Anders", "overig"), ("Onbekend", "overig"), ("Samenwonend", "paar"), ("Kamerbewoner xyz", None),
])
def test_household_texts_match_after_normalising(tmp_path, text, code):
    rows = vng_rows(1)
    for r in rows:
        r[7] = text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = read_extract(write_vng_csv(tmp_path / "h.csv", rows), peildatum="2020-12-31")
    if code is None:  # unknown texts still reject, with the fix
        assert set(cs.rejected["reason"]) == {"unknown_code"}
        assert "[extract.households]" in cs.rejected["fix"].iloc[0]
    else:
        assert len(cs.rejected) == 0 and cs.clients["household"].tolist() == [code]


def test_end_reason_and_inflow_texts_match_after_normalising(tmp_path):
    from tests.test_extract import HEADER, row, write_csv

    texts = {"Aanvaarding  werk.": "werk", "WW - uitkering": "andere_uitkering", "Overleden": "overlijden",
             "verhuizing naar andere Gemeente": "verhuizing", "Onbekend": "overig", "Anders": "overig",
             "Wia / Wajong": "andere_uitkering", "Bereiken AOW-leeftijd": "aow"}
    rows = [row(str(2000 + i), end_text=t, inflow=inflow)
            for i, (t, inflow) in enumerate(zip(texts, ["02", "Einde  WSW", "einde wia - wajong", "41",
                                                         "11", "4", "40", "1"], strict=True))]
    rows.append(row("2999", end_text="Naar de maan"))
    cs = read_extract(write_csv(tmp_path / "e.csv", rows, header=HEADER), peildatum="2020-12-31")
    assert cs.rejected["value"].tolist() == ["Naar de maan"]
    assert "[extract.end_reasons]" in cs.rejected["fix"].iloc[0]
    got = cs.spells.set_index("client_id")
    for i, code in enumerate(texts.values()):
        assert got.loc[pseudo(str(2000 + i)), "end_reason"] == code
    assert got.loc[pseudo("2000"), "inflow_reason"] == "2" and got.loc[pseudo("2001"), "inflow_reason"] == "31"
    assert got.loc[pseudo("2002"), "inflow_reason"] == "32"
    # an unknown inflow text is rejected; the config can map it
    rows = [row("3001", inflow="Zomaar"), row("3002")]
    cs = read_extract(write_csv(tmp_path / "i.csv", rows), peildatum="2020-12-31")
    assert cs.rejected["reason"].tolist() == ["unknown_code"] and "[extract.inflow_reasons]" in cs.rejected["fix"][0]
    cfg = load_config(None, extract={"inflow_reasons": {"zomaar": "39"}})
    cs = read_extract(write_csv(tmp_path / "i.csv", rows), peildatum="2020-12-31", config=cfg)
    assert len(cs.rejected) == 0


def test_normalise_text():
    assert normalise_text(" Gehuwd / Samenwonend ") == normalise_text("gehuwd/samenwonend") == "gehuwd/samenwonend"
    assert normalise_text("Beëindiging  studie.") == "beeindiging studie"
    assert normalise_text("WW - uitkering") == "ww-uitkering"
    assert normalise_text("Alleenst.ouder") != normalise_text("alleenstaande ouder")


# ------------------------------------------------------------------ messages


def test_a_folder_a_file_named_twice_and_a_config_typo(tmp_path):
    from tests.test_extract import row, write_csv

    (tmp_path / "extract").mkdir()
    write_csv(tmp_path / "extract" / "uitkeringen.csv", [row()])
    with pytest.raises(ExtractError, match="is a folder; name the files in it.*uitkeringen.csv"):
        read_extract(tmp_path / "extract")
    f = tmp_path / "extract" / "uitkeringen.csv"
    with pytest.raises(ExtractError, match="named twice"):
        read_extract([f, tmp_path / "extract" / ".." / "extract" / "uitkeringen.csv"])
    with pytest.raises(ConfigError, match=r"\[extract.municipalty\] unknown key \(did you mean 'municipality'\?\)"):
        load_config(None, extract={"municipalty": "GM0168"})
    cfg = tmp_path / "caseload.toml"
    cfg.write_text('[extrakt]\nfiles = ["a.csv"]\n[report]\ntitel = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert "did you mean 'extract'" in str(err.value) and "did you mean 'title'" in str(err.value)


def test_peildatum_long_after_the_data_warns(tmp_path):
    from tests.test_extract import row, write_csv

    path = write_csv(tmp_path / "p.csv", [row(end="")])  # last date in the data: 01-01-2020
    with pytest.warns(UserWarning, match="lies 548 days after the latest date in the extract"):
        read_extract(path, peildatum="2021-07-02")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_extract(path, peildatum="2020-02-01")  # 31 days: no warning
        read_extract(path)  # derived from the data: no warning


def test_impossible_age_message_states_no_number_derived_from_a_masked_value(tmp_path):
    from tests.test_extract import row, write_csv

    cs = read_extract(write_csv(tmp_path / "a.csv", [row(by="111222333"), row("1002", by="2015")]),
                      peildatum="2021-12-31")
    msgs = cs.rejected.set_index("row")["message"]
    assert "111222333" not in msgs.loc[2] and "-11122" not in msgs.loc[2] and "no possible age" in msgs.loc[2]
    assert "an age of 6" in msgs.loc[3]


# ------------------------------------------------------------------ input edges (issue 11)


def test_a_column_name_used_twice_is_one_error_naming_both_positions(tmp_path):
    from tests.test_extract import HEADER, row, write_csv

    header = HEADER[:-1] + ["Clientnummer"]
    with pytest.raises(ExtractError, match=r"'Clientnummer' appears twice.*column 2 \(B\) and column 13 \(M\)"):
        read_extract(write_csv(tmp_path / "d.csv", [row()], header=header), peildatum="2021-12-31")
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(header)
    wb.active.append(row())
    wb.save(tmp_path / "d.xlsx")
    with pytest.raises(ExtractError, match="appears twice"):
        read_extract(tmp_path / "d.xlsx", peildatum="2021-12-31")


@pytest.mark.parametrize("mark", ["\ufeff", "\u200b", "\u2060"])
def test_invisible_characters_are_stripped_and_counted(tmp_path, mark):
    from tests.test_extract import row, write_csv

    path = write_csv(tmp_path / "z.csv", [row("1001"), row("1002"), row("1003", household="Alleen\u200bstaande")])
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    lines[2] = mark + lines[2]  # at the start of a data line: it would land in the first field
    lines[3] = lines[3].replace("1003", "10" + mark + "03", 1)
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    cs = read_extract(path, peildatum="2021-12-31")
    assert len(cs.rejected) == 0
    assert set(cs.clients["client_id"]) == {pseudo("1001"), pseudo("1002"), pseudo("1003")}
    assert set(cs.spells["dossier_id"]) == {pseudo(f"D{c}", "dossier") for c in (1001, 1002, 1003)}
    assert cs.report.loc[0, "invisible_removed"] == 3  # cells, counted in the file report


def test_xlsx_unpacked_size_is_checked_before_unpacking(tmp_path, monkeypatch):
    import openpyxl

    from caseload.extract.files import MAX_XLSX_UNPACKED_MB

    assert MAX_XLSX_UNPACKED_MB >= 1024  # far above a real extract (a full sheet is well under 1 GB)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 2**20))  # 40 MB of zeros, ~40 kB packed
    assert bomb.stat().st_size < 200_000
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("the workbook was opened"))
    cfg = load_config(None, extract={"max_xlsx_mb": 10})
    with pytest.raises(ExtractError, match=r"unpacks to 40 MB.*sheet1.xml.*limit of 10 MB.*max_xlsx_mb"):
        read_extract(bomb, peildatum="2021-12-31", config=cfg)


def test_refresh_writes_the_key_fingerprint_and_warns_when_the_key_changed(tmp_path, monkeypatch):
    import json
    from pathlib import Path

    from caseload.privacy import KEY_ENV, key_fingerprint
    from caseload.refresh import refresh

    sample = Path(__file__).parent.parent / "data" / "sample" / "caseload.toml"
    out = tmp_path / "reports"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refresh(sample, out_dir=out, steps=["validate"])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["pseudonym_key_fingerprint"] == key_fingerprint(load_key())
    assert load_key().decode() not in (out / "manifest.json").read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same key: no warning about it
        warnings.filterwarnings("ignore", message="^(?!the pseudonym key differs)")
        refresh(sample, out_dir=out, steps=["validate"])
    monkeypatch.setenv(KEY_ENV, "another key of at least 16 bytes")
    with pytest.warns(UserWarning, match="pseudonym key differs from the one of the previous report"):
        refresh(sample, out_dir=out, steps=["validate"])


def test_cli_validate_prints_the_file_notes_and_the_warnings(tmp_path):
    from typer.testing import CliRunner

    from caseload.cli import app

    rows = vng_rows(4)
    path = tmp_path / "t.csv"
    lines = ["Titel", ";".join(VNG_HEADER + ["Opmerking"])] + [";".join(r + ["x"]) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(path), "--peildatum", "2022-12-31"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "1 rows above the header skipped" in out and "columns not used: Opmerking" in out
    assert "days after the latest date in the extract" in out and "municipality" in out

"""Tests of caseload.extract: formats, encodings, delimiters, every rejection reason,
whole-file errors, the consolidation rule and a property test that nothing is lost."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import caseload as cl
from caseload.config import load_config
from caseload.errors import ConfigError, ExtractError
from caseload.extract import consolidate_spells, parse_date_text, read_extract
from caseload.extract.files import detect_encoding, sniff_delimiter
from caseload.extract.parse import INVALID, MISSING, parse_numbers
from caseload.privacy import load_key, pseudonymize

HEADER = [
    "Dossiernr", "Clientnummer", "geboortejaar", "geslacht", "Type", "Startdatum periodiek algemeen",
    "Einddatum periodiek algemeen", "Oorspronkelijke begindatum uitkeringsdossier", "Omschrijving leefvorm",
    "Oorzaak bijstandsafhankelijkheid", "Omschrijving einde bijstandsafhankelijkheid", "Gemeentecode",
    "Bedrag periodiek",
]


def row(client="1001", start="01-01-2020", end="31-01-2020", orig="01-01-2020", by="1980", sex="M",
        household="Alleenstaande", inflow="11", end_text="", gm="GM0168", amount="1.234,56", dossier=None):
    return [dossier or f"D{client}", client, by, sex, "aanvrager", start, end, orig, household, inflow,
            end_text, gm, amount]


def write_csv(path, rows, delimiter=";", encoding="utf-8", header=HEADER):
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def pseudo(value, domain="client"):
    return pseudonymize([value], load_key(), domain).iloc[0]


# ------------------------------------------------------------------ parsing units


@pytest.mark.parametrize("text", ["31-01-2024", "31/01/2024", "2024-01-31", "45322", "20240131",
                                  "2024-01-31 00:00:00", "45322.0"])
def test_date_formats(text):
    assert parse_date_text(text) == (dt.date(2024, 1, 31) - dt.date(1970, 1, 1)).days


def test_date_short_and_invalid():
    assert parse_date_text("1-2-2020") == (dt.date(2020, 2, 1) - dt.date(1970, 1, 1)).days
    assert parse_date_text("31-02-2024") == INVALID
    assert parse_date_text("morgen") == INVALID
    assert parse_date_text("  ") == MISSING
    assert parse_date_text(None) == MISSING


def test_numbers_decimal_comma():
    got = parse_numbers(np.array(["1.234,56", "1234,56", "1234.56", "12", "x", None, "1,2,3"], dtype=object))
    np.testing.assert_allclose(got[:4], [1234.56, 1234.56, 1234.56, 12.0])
    assert np.isnan(got[4:]).all()


def test_sniff_and_encoding():
    assert sniff_delimiter("a;b;c\n1,5;2;3\n") == ";"
    assert sniff_delimiter("a,b,c\n1,2,3\n") == ","
    assert sniff_delimiter("a\tb\n1\t2\n") == "\t"
    assert sniff_delimiter("a|b\n1|2\n") == "|"
    assert detect_encoding(b"\xef\xbb\xbfa;b") == "utf-8-sig"
    assert detect_encoding("é;b".encode("cp1252")) == "cp1252"
    assert detect_encoding("é;b".encode()) == "utf-8"


# ------------------------------------------------------------------ formats


def test_gws_csv_loads_spells_and_clients(tmp_path):
    rows = [
        row("1001", "01-01-2020", "31-01-2020", "01-01-2020"),
        row("1001", "01-02-2020", "29-02-2020", "01-01-2020", end_text="Aanvaarding werk", amount="1300,00"),
        row("1002", "01-03-2021", "", "15-02-2019", by="1990", sex="V", household="Alleenstaande ouder",
            inflow="12"),
    ]
    cs = read_extract(write_csv(tmp_path / "u.csv", rows), peildatum="2021-12-31")
    assert cs.report.loc[0, ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [3, 3, 0]
    sp = cs.spells.set_index("client_id").sort_index()
    a, b = pseudo("1001"), pseudo("1002")
    assert sp.loc[a, "start_date"] == pd.Timestamp("2020-01-01")
    assert sp.loc[a, "end_date"] == pd.Timestamp("2020-02-29")
    assert sp.loc[a, "end_reason"] == "werk"
    assert sp.loc[a, "n_periods"] == 2
    assert sp.loc[a, "amount"] == pytest.approx(1300.0)
    assert sp.loc[a, "dossier_id"] == pseudo("D1001", "dossier")
    assert sp.loc[b, "start_date"] == pd.Timestamp("2019-02-15")  # original start, not period start
    assert pd.isna(sp.loc[b, "end_date"]) and pd.isna(sp.loc[b, "end_reason"])
    assert sp.loc[b, "household"] == "alleenstaande_ouder" and sp.loc[b, "inflow_reason"] == "12"
    assert (cs.spells["benefit"] == "PW").all() and (cs.spells["municipality"] == "GM0168").all()
    clients = cs.clients.set_index("client_id")
    assert clients.loc[b, "birth_year"] == 1990 and clients.loc[b, "sex"] == "V"
    assert (cs.spells["peildatum"] == pd.Timestamp("2021-12-31")).all()
    assert (cs.clients["peildatum"] == pd.Timestamp("2021-12-31")).all()
    assert list(cs.spells.columns[:13]) == cl.SPELLS.names


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    amount = "1234.56" if delimiter == "," else "1234,56"
    cs = read_extract(write_csv(tmp_path / "d.csv", [row(amount=amount)], delimiter=delimiter),
                      peildatum="2021-12-31")
    assert cs.report.loc[0, "delimiter"] == delimiter
    assert cs.report.loc[0, "rows_loaded"] == 1
    assert cs.spells.loc[0, "amount"] == pytest.approx(1234.56)


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                               ("cp1252", "cp1252")])
def test_encodings(tmp_path, encoding, expected):
    header = HEADER + ["Omschrijving oorzaak bijstandsafhankelijkheid"]
    rows = [row() + ["Beëindiging uitkering – ZW"], row("1002") + ["Échec"]]
    cs = read_extract(write_csv(tmp_path / "e.csv", rows, encoding=encoding, header=header),
                      peildatum="2021-12-31")
    assert cs.report.loc[0, "encoding"] == expected
    assert cs.report.loc[0, "rows_loaded"] == 2
    assert len(cs.spells) == 2


def test_cp1252_after_the_sniffed_sample(tmp_path):
    # the first 64 kB are plain ASCII, the first non-UTF-8 byte comes later: read again as cp1252
    rows = [row(str(1000 + i)) for i in range(1500)] + [row("9999", household="Alleenstaande ")]
    path = write_csv(tmp_path / "late.csv", rows)
    path.write_bytes(path.read_bytes() + ";".join(row("8888", end_text="Overlijden", household="Hotel"))
                     .replace("Hotel", "Hotel\xe9").encode("latin-1") + b"\r\n")
    cs = read_extract(path, peildatum="2021-12-31")
    assert cs.report.loc[0, "encoding"] == "cp1252"
    assert cs.report.loc[0, "rows_read"] == 1502
    assert cs.rejected["value"].tolist() == ["Hotelé"]  # decoded right, and rejected as unknown


def test_xlsx_with_date_cells_and_serials(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    r1 = row()
    r1[5], r1[6], r1[7] = dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 31), dt.datetime(2020, 1, 1)
    r1[2], r1[12] = 1980, 1234.56
    r2 = row("1002", start="43862", end="", orig="43862")  # Excel serial numbers: 2020-02-01
    r2[5], r2[7] = 43862, 43862
    ws.append(r1)
    ws.append([None] * len(HEADER))  # an empty row is not a data row
    ws.append(r2)
    wb.save(tmp_path / "x.xlsx")
    cs = read_extract(tmp_path / "x.xlsx", peildatum="2021-12-31")
    assert cs.report.loc[0, ["rows_read", "rows_loaded"]].tolist() == [2, 2]
    sp = cs.spells.set_index("client_id")
    assert sp.loc[pseudo("1001"), "end_date"] == pd.Timestamp("2020-01-31")
    assert sp.loc[pseudo("1001"), "amount"] == pytest.approx(1234.56)
    assert sp.loc[pseudo("1002"), "start_date"] == pd.Timestamp("2020-02-01")


def test_xlsx_row_numbers_skip_blank_rows(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(row())
    ws.append([None] * len(HEADER))
    ws.append(row("1003", start="32-01-2020"))
    wb.save(tmp_path / "x.xlsx")
    cs = read_extract(tmp_path / "x.xlsx", peildatum="2021-12-31")
    assert cs.rejected["row"].tolist() == [4]


def test_parquet(tmp_path):
    df = pd.DataFrame([row(), row("1002", "01-03-2021", "", "01-03-2021")], columns=HEADER)
    for c in HEADER[5:8]:
        df[c] = pd.to_datetime(df[c].replace("", None), format="%d-%m-%Y")
    df["geboortejaar"] = df["geboortejaar"].astype(int)
    df["Clientnummer"] = df["Clientnummer"].astype(int)
    df.to_parquet(tmp_path / "p.parquet")
    cs = read_extract(tmp_path / "p.parquet", peildatum="2021-12-31")
    assert cs.report.loc[0, ["rows_loaded", "rows_rejected"]].tolist() == [2, 0]
    assert set(cs.spells["client_id"]) == {pseudo("1001"), pseudo("1002")}
    assert cs.spells["start_date"].min() == pd.Timestamp("2020-01-01")


# ------------------------------------------------------------------ rejections


REJECT_CASES = [
    ("missing_id", row(client=""), "Clientnummer"),
    ("missing_value", row(start=""), "Startdatum periodiek algemeen"),
    ("bad_date", row(start="31-02-2020"), "Startdatum periodiek algemeen"),
    ("bad_date", row(orig="gisteren"), "Oorspronkelijke begindatum uitkeringsdossier"),
    ("end_before_start", row(start="01-02-2020", end="31-01-2020"), "Einddatum periodiek algemeen"),
    ("end_before_start", row(orig="01-03-2020"), "Oorspronkelijke begindatum uitkeringsdossier"),
    ("bad_number", row(by="19x0"), "geboortejaar"),
    ("bad_number", row(amount="veel"), "Bedrag periodiek"),
    ("impossible_age", row(by="2015"), "geboortejaar"),
    ("impossible_age", row(by="1890"), "geboortejaar"),
    ("impossible_age", row(by="2030"), "geboortejaar"),
    ("impossible_age", row(by="2004", start="01-01-2015", end="31-01-2015", orig="01-01-2015"), "geboortejaar"),
    ("unknown_code", row(sex="Q"), "geslacht"),
    ("unknown_code", row(household="Woonwagen"), "Omschrijving leefvorm"),
    ("unknown_code", row(inflow="999"), "Oorzaak bijstandsafhankelijkheid"),
    ("unknown_code", row(end_text="Op wereldreis"), "Omschrijving einde bijstandsafhankelijkheid"),
    ("unknown_code", row(gm="Amsterdam"), "Gemeentecode"),
]


@pytest.mark.parametrize("reason,bad,column", REJECT_CASES)
def test_each_rejection_reason(tmp_path, reason, bad, column):
    good = row("2001", by="1970")
    cs = read_extract(write_csv(tmp_path / "r.csv", [good, bad]), peildatum="2021-12-31")
    rep = cs.report.iloc[0]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (2, 1, 1)
    rej = cs.rejected.iloc[0]
    assert rej["reason"] == reason
    assert rej["row"] == 3  # header is row 1, the good row is row 2
    assert rej["column"] == column
    assert rej["file"].endswith("r.csv")
    assert rej["message"] and rej["fix"]
    assert cs.spells["client_id"].tolist() == [pseudo("2001")]


def test_end_reason_fix_names_the_config_table(tmp_path):
    cs = read_extract(write_csv(tmp_path / "r.csv", [row(end_text="Op wereldreis")]), peildatum="2021-12-31")
    assert "[extract.end_reasons]" in cs.rejected.loc[0, "fix"]
    assert "Op wereldreis" in cs.rejected.loc[0, "message"]


def test_exact_and_conflicting_duplicates(tmp_path):
    rows = [
        row("3001"), row("3001"), row("3001"),  # rows 2-4: exact copies, 3 and 4 rejected
        row("3002"), row("3002", amount="999,00"),  # rows 5-6: same client and period, other amount
        row("3003"),
    ]
    cs = read_extract(write_csv(tmp_path / "dup.csv", rows), peildatum="2021-12-31")
    rej = cs.rejected.set_index("row")
    assert rej.loc[3, "reason"] == rej.loc[4, "reason"] == "exact_duplicate"
    assert "row 2" in rej.loc[3, "message"]
    assert rej.loc[5, "reason"] == rej.loc[6, "reason"] == "conflicting_duplicate"
    assert "5, 6" in rej.loc[5, "message"] and "none of them" in rej.loc[5, "message"]
    assert cs.report.loc[0, ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [6, 2, 4]
    assert sorted(cs.spells["client_id"]) == sorted([pseudo("3001"), pseudo("3003")])


def test_bad_line_and_row_numbers_after_it(tmp_path):
    path = write_csv(tmp_path / "l.csv", [row("4001"), row("4002")[:5], row("4003", start="xx")])
    cs = read_extract(path, peildatum="2021-12-31")
    rej = cs.rejected.set_index("row")
    assert rej.loc[3, "reason"] == "bad_line"
    assert rej.loc[4, "reason"] == "bad_date"  # numbering continues correctly after the bad line
    assert cs.report.loc[0, ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [3, 1, 2]


def test_personal_numbers_are_masked(tmp_path):
    bsn = "111222333"  # passes the 11-test
    rows = [row(bsn, start="xx"), row("5001", household=f"BSN {bsn}"), row(bsn, by="2020")]
    cs = read_extract(write_csv(tmp_path / "m.csv", rows), peildatum="2021-12-31")
    text = cs.rejected.astype(str).to_string()
    assert bsn not in text
    assert "11*****33" in text


def test_no_raw_number_in_loaded_tables(tmp_path):
    rows = [row(str(600000 + i), dossier=str(700000 + i)) for i in range(20)]
    cs = read_extract(write_csv(tmp_path / "n.csv", rows), peildatum="2021-12-31")
    text = pd.concat([cs.spells.astype(str), cs.clients.astype(str)], axis=1).to_string()
    for i in range(20):
        assert str(600000 + i) not in text and str(700000 + i) not in text


def test_leading_zeros_are_the_same_client(tmp_path):
    rows = [row("000123", "01-01-2020", "31-01-2020"), row("123", "01-02-2020", "29-02-2020")]
    cs = read_extract(write_csv(tmp_path / "z.csv", rows), peildatum="2021-12-31")
    assert len(cs.spells) == 1 and cs.spells.loc[0, "n_periods"] == 2
    assert len(cs.clients) == 1


# ------------------------------------------------------------------ whole-file errors


def test_missing_column_names_closest_match(tmp_path):
    header = [("Startdatum periodiek" if h == "Startdatum periodiek algemeen" else h) for h in HEADER]
    path = write_csv(tmp_path / "c.csv", [row()], header=header)
    with pytest.raises(ExtractError) as info:
        read_extract(path)
    msg = str(info.value)
    assert "c.csv" in msg
    assert "'Startdatum periodiek algemeen' not found" in msg
    assert "closest match 'Startdatum periodiek'" in msg
    assert "[extract.mapping]" in msg


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (";".join(HEADER).encode() + b"\r\n", "no data rows"),
    (b"\x00\x01\x02\x03binary\x00junk", "not a text"),
    (b"foo;bar\r\n1;2\r\n", "none of the column names is known"),
])
def test_whole_file_errors(tmp_path, content, needle):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ExtractError, match=needle) as info:
        read_extract(path)
    assert "bad.csv" in str(info.value) and "Fix:" in str(info.value)


def test_not_a_spreadsheet(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"this is not a workbook")
    with pytest.raises(ExtractError, match="not a readable Excel workbook"):
        read_extract(path)


def test_unreadable_encoding(tmp_path):
    path = tmp_path / "enc.csv"
    # 0x81 and 0x8d are neither UTF-8 here nor defined in Windows-1252
    path.write_bytes(";".join(HEADER).encode() + b"\r\n" + b"\x81\x8d;" * 12 + b"x\r\n")
    with pytest.raises(ExtractError, match="neither UTF-8 nor Windows-1252"):
        read_extract(path, peildatum="2021-12-31")


def test_missing_file_and_municipality(tmp_path):
    with pytest.raises(ExtractError, match="file not found"):
        read_extract(tmp_path / "nope.csv")
    header = HEADER[:-2] + ["Bedrag periodiek"]
    rows = [r[:-2] + [r[-1]] for r in [row()]]
    path = write_csv(tmp_path / "nogm.csv", rows, header=header)
    # no column and no setting: loads, the municipality unknown, one warning that says what is left out
    with pytest.warns(UserWarning) as record:
        cs = read_extract(path, peildatum="2020-01-31")
    about = [str(w.message) for w in record if "municipality" in str(w.message)]
    assert len(about) == 1 and "analyses that need it" in about[0] and "municipality=" in about[0]
    assert cs.spells["municipality"].tolist() == ["onbekend"] and cs.clients["municipality"].tolist() == ["onbekend"]
    cfg = load_config(None, extract={"municipality": "GM0037"})
    cs = read_extract(path, peildatum="2021-12-31", config=cfg)
    assert cs.spells["municipality"].tolist() == ["GM0037"]
    # the keyword wins over the config
    cs = read_extract(path, peildatum="2021-12-31", config=cfg, municipality="GM0168")
    assert cs.spells["municipality"].tolist() == ["GM0168"]


# ------------------------------------------------------------------ mapping and config


def test_user_mapping_and_config_tables(tmp_path):
    header = [("Begin" if h == "Startdatum periodiek algemeen" else h) for h in HEADER]
    rows = [row(end_text="Op wereldreis", household="Kamerbewoner")]
    path = write_csv(tmp_path / "u.csv", rows, header=header)
    cfg = load_config(None, extract={"end_reasons": {"Op wereldreis": "overig"},
                                     "households": {"kamerbewoner": "alleenstaand"}})
    cs = read_extract(path, mapping={"period_start": "Begin"}, config=cfg, peildatum="2021-12-31")
    assert cs.report.loc[0, "rows_rejected"] == 0
    assert cs.spells.loc[0, "end_reason"] == "overig"
    assert cs.spells.loc[0, "household"] == "alleenstaand"
    bad = load_config(None, extract={"end_reasons": {"Op wereldreis": "vakantie"}})
    with pytest.raises(ConfigError, match="vakantie"):
        read_extract(path, mapping={"period_start": "Begin"}, config=bad)


def test_default_peildatum_ignores_placeholder_end_dates(tmp_path):
    rows = [row("1", "01-01-2021", "31-12-9999", "01-01-2021"), row("2", "01-06-2021", "30-06-2021",
                                                                      "01-06-2021")]
    cs = read_extract(write_csv(tmp_path / "p.csv", rows))
    assert cs.peildatum == pd.Timestamp("2021-06-30")
    assert cs.spells["end_date"].isna().sum() == 1  # 31-12-9999 is after the peildatum: open


# ------------------------------------------------------------------ consolidation


def _periods(spec):
    return pd.DataFrame(spec, columns=["client_id", "start_date", "period_start", "period_end",
                                       "end_reason"]).assign(
        start_date=lambda d: pd.to_datetime(d.start_date),
        period_start=lambda d: pd.to_datetime(d.period_start),
        period_end=lambda d: pd.to_datetime(d.period_end))


def test_consolidation_rule_by_hand():
    p = _periods([
        ("a", "2019-05-01", "2020-03-01", "2020-03-31", "werk"),     # out of order on purpose
        ("a", "2019-05-01", "2020-01-01", "2020-01-31", None),
        ("a", "2019-05-01", "2020-02-01", "2020-02-29", None),        # adjacent: gap 1 day
        ("a", "2019-05-01", "2020-06-01", "2020-06-30", "verhuizing"),  # gap > 1 day: new spell
        ("b", "2018-01-01", "2018-01-01", None, None),                # open
        ("c", "2020-01-01", "2020-01-01", "2020-01-31", None),
        ("c", "2020-01-01", "2020-02-02", "2020-02-29", "werk"),     # 2-day gap: split at gap_days=1
    ])
    got = consolidate_spells(p).sort_values(["client_id", "start_date"]).reset_index(drop=True)
    assert got["client_id"].tolist() == ["a", "a", "b", "c", "c"]
    assert got["start_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2019-05-01", "2020-06-01", "2018-01-01", "2020-01-01", "2020-02-02"]
    assert got["end_date"].dt.strftime("%Y-%m-%d").fillna("open").tolist() == [
        "2020-03-31", "2020-06-30", "open", "2020-01-31", "2020-02-29"]
    assert got["n_periods"].tolist() == [3, 1, 1, 1, 1]
    assert got["end_reason"].fillna("-").tolist() == ["werk", "verhuizing", "-", "-", "werk"]
    merged = consolidate_spells(p, gap_days=2)
    assert (merged["client_id"] == "c").sum() == 1
    capped = consolidate_spells(p, peildatum="2020-03-15")
    assert capped.loc[capped.start_date == "2019-05-01", "end_date"].isna().all()


def test_overlapping_and_open_periods_do_not_split():
    p = _periods([
        ("a", "2020-01-01", "2020-01-01", None, None),              # open period first
        ("a", "2020-01-01", "2020-05-01", "2020-05-31", "werk"),
        ("b", "2020-01-01", "2020-01-01", "2020-12-31", None),      # long period covering the next
        ("b", "2020-01-01", "2020-03-01", "2020-03-31", "werk"),
    ])
    got = consolidate_spells(p).set_index("client_id")
    assert len(got) == 2
    assert pd.isna(got.loc["a", "end_date"])
    assert got.loc["b", "end_date"] == pd.Timestamp("2020-12-31")


def test_loader_uses_gap_days_from_config(tmp_path):
    rows = [row("1", "01-01-2020", "31-01-2020"), row("1", "03-02-2020", "29-02-2020")]
    path = write_csv(tmp_path / "g.csv", rows)
    assert len(read_extract(path, peildatum="2021-12-31").spells) == 2
    cfg = load_config(None, extract={"gap_days": 3})
    assert len(read_extract(path, peildatum="2021-12-31", config=cfg).spells) == 1


# ------------------------------------------------------------------ canonical preset


def test_canonical_tables_and_dutch_headers(tmp_path):
    pd.DataFrame({
        "client_id": ["c1", "c2", "c3"], "municipality": ["GM0168"] * 3, "birth_year": ["1980", "1990", "2019"],
        "sex": ["M", "V", "V"], "household": ["alleenstaand", "paar", "paar"],
    }).to_csv(tmp_path / "clients.csv", sep=";", index=False)
    pd.DataFrame({
        "Cliënt (pseudoniem)": ["c1", "c2", "c2", "c2"],
        "Datum diagnose": ["01-03-2021", "01-04-2021", "01-04-2021", "01-05-2021"],
        "Trede participatieladder": ["3", "7", "7", "2"],
        "Werkfit": ["ja", "nee", "nee", "misschien"],
    }).to_csv(tmp_path / "assessments.csv", sep=";", index=False, encoding="cp1252")
    cs = read_extract([tmp_path / "clients.csv", tmp_path / "assessments.csv"], mapping="canonical",
                      peildatum="2021-12-31")
    rep = cs.report.set_index("table")
    assert rep.loc["clients", ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [3, 2, 1]
    assert rep.loc["assessments", ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [4, 1, 3]
    reasons = cs.rejected.groupby("reason").size().to_dict()
    assert reasons == {"impossible_age": 1, "unknown_code": 3}  # ladder 7 (twice, first reason) and 'misschien'
    assert cs.assessments.loc[0, "client_id"] == pseudo("c1")
    assert cs.assessments.loc[0, "ladder_step"] == 3 and bool(cs.assessments.loc[0, "werkfit"]) is True
    assert set(cs.clients["client_id"]) == {pseudo("c1"), pseudo("c2")}


def test_mixed_extract_gws_and_canonical(tmp_path):
    write_csv(tmp_path / "u.csv", [row("1001")])
    pd.DataFrame({"client_id": ["1001"], "instrument": ["werkfit"], "start_date": ["2021-01-04"],
                  "end_date": ["2021-02-19"], "outcome": ["regulier_werk"]}).to_csv(
        tmp_path / "act.csv", index=False)
    cs = read_extract([tmp_path / "u.csv", tmp_path / "act.csv"], peildatum="2021-12-31")
    assert cs.activities.loc[0, "client_id"] == cs.spells.loc[0, "client_id"] == pseudo("1001")
    assert cs.activities["activity_id"].notna().all()
    assert cs.report["table"].tolist() == ["spells", "activities"]


def test_canonical_spells_end_before_start(tmp_path):
    pd.DataFrame({"client_id": ["a", "b"], "municipality": ["GM0168"] * 2, "benefit": ["PW", "PW"],
                  "start_date": ["2020-01-01", "2020-05-01"], "end_date": ["2020-03-01", "2020-04-01"]}
                 ).to_csv(tmp_path / "s.csv", index=False)
    cs = read_extract(tmp_path / "s.csv", mapping="canonical", peildatum="2021-12-31")
    assert cs.rejected["reason"].tolist() == ["end_before_start"]
    assert cs.spells["spell_id"].notna().all() and len(cs.spells) == 1


# ------------------------------------------------------------------ property: nothing lost


BAD_KINDS = ["missing_id", "bad_date", "end_before_start", "impossible_age", "unknown_code", "duplicate"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(["good"] * 3 + BAD_KINDS), min_size=1, max_size=30),
       days=st.lists(st.integers(0, 3000), min_size=30, max_size=30),
       years=st.lists(st.integers(1940, 1990), min_size=30, max_size=30))
def test_property_read_equals_loaded_plus_rejected(tmp_path, kinds, days, years):
    base = dt.date(2010, 1, 1)
    rows, expected = [], {}
    for i, kind in enumerate(kinds):
        start = base + dt.timedelta(days=days[i])
        end = start + dt.timedelta(days=20)
        client = str(800000 + i)
        r = row(client, start.strftime("%d-%m-%Y"), end.strftime("%d-%m-%Y"), start.strftime("%d-%m-%Y"),
                by=str(years[i]), amount=f"{100 + i},25")
        if kind == "missing_id":
            r[1] = ""
        elif kind == "bad_date":
            r[6] = "31-13-2020"
        elif kind == "end_before_start":
            r[6] = (start - dt.timedelta(days=1)).strftime("%d-%m-%Y")
        elif kind == "impossible_age":
            r[2] = "2022"
        elif kind == "unknown_code":
            r[3] = "?"
        rows.append(r)
        if kind == "duplicate":
            rows.append(list(r))  # the copy is rejected, the original loads
        if kind in ("good", "duplicate"):
            expected[pseudo(client)] = (pd.Timestamp(start), pd.Timestamp(end), 100 + i + 0.25, years[i])
    path = write_csv(tmp_path / "prop.csv", rows)
    cs = read_extract(path, peildatum="2021-12-31")
    rep = cs.report.iloc[0]
    assert rep.rows_read == len(rows)
    assert rep.rows_read == rep.rows_loaded + rep.rows_rejected
    assert rep.rows_rejected == len(cs.rejected) == len(rows) - len(expected)
    got = cs.spells.set_index("client_id")
    assert set(got.index) == set(expected)
    by = cs.clients.set_index("client_id")["birth_year"]
    for cid, (s, e, amount, year) in expected.items():
        assert got.loc[cid, "start_date"] == s and got.loc[cid, "end_date"] == e
        assert got.loc[cid, "amount"] == pytest.approx(amount)
        assert by.loc[cid] == year


# ------------------------------------------------------------------ the committed sample (synth)


def test_sample_extract_rejections_match_the_injected_truth():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "data" / "sample"
    if not (root / "bad_rows_truth.csv").is_file():
        pytest.skip("data/sample has no bad_rows_truth.csv")
    cs = read_extract(config=load_config(root / "caseload.toml"))
    rep = cs.report.set_index("table")
    assert (rep["rows_read"] == rep["rows_loaded"] + rep["rows_rejected"]).all()
    truth = pd.read_csv(root / "bad_rows_truth.csv", sep=";", dtype=str)
    truth["row"] = truth["row"].astype(int)
    rej = cs.rejected[cs.rejected["file"].str.endswith("uitkeringen.csv")].set_index("row")
    # every injected bad row is rejected with the injected reason ...
    assert (rej.loc[truth["row"], "reason"].to_numpy() == truth["kind"].to_numpy()).all()
    # ... and the only other rejections are the originals that a conflicting copy contradicts
    extra = sorted(set(rej.index) - set(truth["row"]))
    originals = truth.loc[truth["kind"] == "conflicting_duplicate", "duplicate_of"].astype(int)
    assert extra == sorted(originals)
    assert rep.loc["spells", "rows_rejected"] == len(truth) + len(originals)


def test_two_monthly_extracts_keep_each_spell_once(tmp_path):
    jan = write_csv(tmp_path / "jan.csv", [row("1", "01-01-2021", "31-01-2021", "01-01-2021")])
    feb = write_csv(tmp_path / "feb.csv", [row("1", "01-01-2021", "31-01-2021", "01-01-2021"),
                                           row("1", "01-02-2021", "", "01-01-2021")])
    cs = read_extract([jan, feb], peildatum="2021-02-28")
    assert len(cs.spells) == 1 and len(cs.clients) == 1
    assert pd.isna(cs.spells.loc[0, "end_date"]) and cs.spells.loc[0, "n_periods"] == 2
    assert cs.report["rows_loaded"].tolist() == [1, 2]


# ------------------------------------------------------------------ round trips through caseload.synth

synth = pytest.importorskip("caseload.synth")
SPELL_COLUMNS = ["client_id", "start_date", "end_date", "end_reason", "inflow_reason", "household",
                 "benefit", "municipality", "dossier_id"]


def _truth_spells(g):
    t = g.spells.copy()
    t["client_id"] = pseudonymize(t["client_id"], load_key(), "client")
    t["dossier_id"] = pseudonymize(t["dossier_id"], load_key(), "dossier")
    return t[SPELL_COLUMNS].sort_values(["client_id", "start_date"]).reset_index(drop=True)


def test_synth_round_trip_reproduces_the_generated_spells(tmp_path):
    # independent reference: the generator's own spells, split into quarterly period rows by
    # write_extract, must come back unchanged from the consolidation
    g = synth.generate(n_clients=400, random_state=1)
    files = synth.write_extract(g, tmp_path, layout="gws")  # Windows-1252, ';', decimal comma
    cs = read_extract(files["spells"], peildatum=g.peildatum)
    assert cs.report.loc[0, "rows_rejected"] == 0
    got = cs.spells[SPELL_COLUMNS].sort_values(["client_id", "start_date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.astype(str), _truth_spells(g).astype(str))


def test_synth_bad_rows_in_every_format(tmp_path):
    g = synth.generate(n_clients=150, random_state=2)
    files = synth.write_extract(g, tmp_path, layout="gws", formats=("csv", "xlsx", "parquet"),
                                bad_rows={k: 0.01 for k in synth.BAD_ROW_KINDS}, random_state=3)
    truth = pd.read_csv(files["bad_rows_truth"], sep=";", dtype=str, encoding="cp1252")
    truth["row"] = truth["row"].astype(int)
    originals = truth.loc[truth["kind"] == "conflicting_duplicate", "duplicate_of"].astype(int)
    spells = []
    for key in ("spells", "spells.xlsx", "spells.parquet"):
        cs = read_extract(files[key], peildatum=g.peildatum)
        rej = cs.rejected.set_index("row")
        assert (rej.loc[truth["row"], "reason"].to_numpy() == truth["kind"].to_numpy()).all(), key
        assert sorted(set(rej.index) - set(truth["row"])) == sorted(originals), key
        rep = cs.report.iloc[0]
        assert rep.rows_read == rep.rows_loaded + rep.rows_rejected, key
        spells.append(cs.spells.sort_values("spell_id").reset_index(drop=True))
    pd.testing.assert_frame_equal(spells[0], spells[1])
    pd.testing.assert_frame_equal(spells[0], spells[2])


# ------------------------------------------------------------------ awkward CSV lines


def _assert_same_caseload(a, b):
    for name in ("clients", "spells", "assessments", "activities", "rejected", "report"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)


@pytest.mark.parametrize("variant", ["quoted", "short_line", "long_line", "blank_line", "stray_cr", "cp1252",
                                     "spaces_and_zeros", "empty_last_column"])
def test_awkward_csv_lines_are_read_or_rejected(tmp_path, variant):
    rows = [row("5001"), row("5002", end=""), row("5003", household=" Alleenstaande "),
            row("5004", by="19x0"), row("5005"), row("5006", start="31-02-2020")]
    lines = [";".join(HEADER)] + [";".join(r) for r in rows]
    bad_line = None
    if variant == "empty_last_column":
        lines[2] = ";".join(row("5002", end="", amount=""))
    elif variant == "cp1252":
        lines[5] = lines[5].replace("aanvrager", "aanvragér")
    elif variant == "quoted":
        lines[2] = lines[2].replace("Alleenstaande", '"Alleen;staande"')
    elif variant == "short_line":
        lines[3] = ";".join(rows[2][:-2])
        bad_line = 4
    elif variant == "long_line":
        lines[3] += ";extra"
        bad_line = 4
    elif variant == "blank_line":
        lines.insert(4, "")
    elif variant == "stray_cr":
        lines[5] = lines[5].replace("aanvrager", "aan\rvrager")
    elif variant == "spaces_and_zeros":
        lines[1] = lines[1].replace("5001", "005001", 1).replace("01-01-2020", " 01-01-2020 ")
    path = tmp_path / "v.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252" if variant == "cp1252" else "utf-8"))
    cs = read_extract(path, peildatum="2021-12-31")
    rep = cs.report.iloc[0]
    assert rep.rows_read == rep.rows_loaded + rep.rows_rejected
    reasons = cs.rejected.set_index("row")["reason"]
    if bad_line:
        assert reasons.loc[bad_line] == "bad_line"
    # the bad birth year and the impossible date are rejected on their own lines whatever else happens
    shift = 1 if variant == "blank_line" else 0
    assert reasons.loc[5 + shift] == "bad_number"
    if variant != "stray_cr":  # a carriage return ends a line: the line with it is two bad lines
        assert reasons.loc[7 + shift] == "bad_date"
    if variant == "spaces_and_zeros":
        assert pseudo("5001") in set(cs.clients["client_id"])


def test_first_seen_order():
    from caseload.extract.common import first_seen_order

    codes = np.array([2, 2, -1, 0, 2, 1, 0], dtype=np.int32)
    new, order = first_seen_order(codes, 4)  # value 3 never appears: it goes last
    assert new.tolist() == [0, 0, -1, 1, 0, 2, 1]
    assert order.tolist() == [2, 0, 1, 3]
    values = np.array(["a", "b", "c", "d"], dtype=object)
    assert (values[order][new[new >= 0]] == values[codes[codes >= 0]]).all()


def test_spells_come_out_in_order_of_first_appearance(tmp_path):
    rows = [row("7003"), row("7001"), row("7003", "01-02-2020", "29-02-2020"), row("7002")]
    cs = read_extract(write_csv(tmp_path / "o.csv", rows), peildatum="2021-12-31")
    assert cs.spells["client_id"].tolist() == [pseudo("7003"), pseudo("7001"), pseudo("7002")]
    assert cs.clients["client_id"].tolist() == [pseudo("7003"), pseudo("7001"), pseudo("7002")]


def test_every_rejection_reason_has_a_dutch_explanation():
    from caseload.extract.rejections import REASONS, REASONS_NL

    assert list(REASONS_NL) == list(REASONS)
    assert all(REASONS_NL[k] != REASONS[k] for k in REASONS)


def test_read_overrides_pseudonymises_client_numbers(tmp_path):
    from caseload.extract import read_overrides
    from caseload.privacy import load_key, pseudonymize

    path = tmp_path / "overrides.csv"
    path.write_text("Clientnummer;groep;reden;datum\n0001234;b;Schulden geregeld;03-11-2025\n"
                    "5678;A;Direct beschikbaar;2025-11-04\n", encoding="cp1252")
    ov = read_overrides(path)
    key = load_key()
    assert list(ov.columns) == ["client_id", "segment", "reason", "date"]
    assert list(ov["client_id"]) == list(pseudonymize(["1234", "5678"], key))
    assert list(ov["segment"]) == ["B", "A"]
    assert list(ov["date"].dt.strftime("%Y-%m-%d")) == ["2025-11-03", "2025-11-04"]
    assert "1234" not in ov.to_csv()


def test_read_overrides_names_the_row_of_a_bad_date_and_a_missing_column(tmp_path):
    from caseload.extract import read_overrides

    path = tmp_path / "o.csv"
    path.write_text("client_id,segment,reason,date\nabc,A,x,01-01-2025\ndef,B,y,31-02-2025\n",
                    encoding="utf-8")
    with pytest.raises(ExtractError, match=r"row 3.*column 'date'"):
        read_overrides(path)
    path.write_text("client_id,segment,date\nabc,A,01-01-2025\n", encoding="utf-8")
    with pytest.raises(ExtractError, match="column 'reason' not found"):
        read_overrides(path)


# ------------------------------------------------------------------ whole-number ids


def test_client_numbers_with_zeros_and_plus_are_one_client_and_duplicates_are_found(tmp_path):
    rows = []
    for k in range(14):
        client = str(40_000_000 + k)
        rows.append(row(client, dossier=str(70_000_000 + k)))
        rows.append(row(client, "01-02-2020", "29-02-2020", dossier=str(70_000_000 + k)))
    rows[3][1] = "0040000001"  # the same client as 40000001 in row 3
    rows[5][1] = "+40000002"
    rows.append(row("0040000004", "01-02-2020", "29-02-2020", dossier="70000004"))  # an exact copy
    rows.append(row("40000005", "01-02-2020", "31-03-2020", dossier="70000005"))  # a conflicting one
    cs = read_extract(write_csv(tmp_path / "n.csv", rows), peildatum="2021-12-31")
    assert cs.clients["client_id"].nunique() == 14
    assert (cs.spells["client_id"] == pseudo("40000001")).sum() == 1
    reasons = cs.rejected.set_index("row")["reason"]
    assert reasons.loc[len(rows)] == "exact_duplicate"  # row numbers: header is row 1
    assert set(reasons[reasons == "conflicting_duplicate"].index) == {11 + 2, len(rows) + 1}
    rep = cs.report.iloc[0]
    assert rep.rows_read == rep.rows_loaded + rep.rows_rejected


def test_clients_disagreeing_on_birth_year_or_sex_are_reported(tmp_path):
    from caseload.extract.gws import clients_disagreeing

    client = np.array([0, 0, 1, 1, 0, 2, 2], dtype=np.int32)
    assert clients_disagreeing(client, np.array([5, 5, 1, 2, 5, 3, 3])) == 1  # client 1
    assert clients_disagreeing(client, np.array([5, 5, 1, 1, 6, 3, -1])) == 2  # clients 0 and 2
    rows = [row("1001", by="1980"), row("1001", "01-02-2020", "29-02-2020", by="1981"),
            row("1002", sex="V"), row("1002", "01-02-2020", "29-02-2020", sex="v")]
    with pytest.warns(UserWarning, match="'geboortejaar' for 1 clients") as record:
        cs = read_extract(write_csv(tmp_path / "d.csv", rows), peildatum="2021-12-31")
    assert "geslacht" not in str(record[0].message)  # V and v are the same sex
    assert cs.clients.set_index("client_id").loc[pseudo("1001"), "birth_year"] == 1981  # the latest


def test_rejected_rows_file_keeps_a_cr_or_lf_inside_its_cell(tmp_path):
    """CRLF line ends: a message with a CR or LF is quoted, so every rejected row stays one CSV row."""
    import csv

    from caseload.extract import write_rejected

    rej = pd.DataFrame({"file": ["u.csv", "u.csv"], "row": [2, 3], "column": ["reden", "reden"],
                        "value": ["a\rb", "c\nd"], "reason": ["unknown_code"] * 2,
                        "message": ["x", "y"], "fix": ["f", "g"]})
    path = write_rejected(rej, tmp_path / "afgewezen.csv")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert len(rows) == 3 and [r[3] for r in rows[1:]] == ["a\rb", "c\nd"]

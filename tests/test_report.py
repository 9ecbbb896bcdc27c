"""The published report as a council reads it (issue 12): Dutch throughout, names not codes,
Excel-NL tables, Kernpunten first, short sections, a PDF, one report per municipality."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import caseload as cl
from caseload import refresh as rf
from caseload.publish import Publication, write_report
from caseload.publish.report_html import MAX_HTML_ROWS
from caseload.schema import municipality_name, municipality_names, report_label

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "caseload.toml"

pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason="data/sample/caseload.toml is missing")

# Column names of the code vocabulary that must never be a header of a Dutch report.
CODE_VOCABULARY = {
    "time", "survival", "lower_0.95", "upper_0.95", "at_risk", "estimate", "cause", "covariate",
    "coef", "std_err", "hazard_ratio", "group", "share_active", "years_since_start", "horizon",
    "events", "censored", "n", "median", "restricted_mean", "rmst_std_err", "municipality", "year",
    "segment", "share", "series", "method", "parameters", "peildatum", "label", "value", "z", "p",
}
# English sentences and half-English phrases seen in Dutch reports before.
ENGLISH = [r"spell\(s\)", r"left out", r"\bat risk\b", r"Cox model", r"\bnot fitted\b",
           r"\(inflow_year\)", r"\(household\)", r"\bMunicipality\b", r"\bsample of\b"]


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def _text(html: str) -> str:
    """The visible text of an HTML page (no tags, no embedded images)."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The full batch run on the sample, Dutch, default settings (PDF on)."""
    out = tmp_path_factory.mktemp("report") / "reports"
    res = rf.refresh(SAMPLE, out_dir=out)
    return res.out_dir


# ------------------------------------------------------------------ 1. Dutch throughout


@pytest.mark.slow
def test_nl_report_has_no_code_vocabulary_or_english(report):
    headers = []
    for p in sorted((report / "tables").glob("*.csv")):
        headers += [(p.stem, h) for h in _csv(p).columns]
    wb = load_workbook(report / "tabellen.xlsx", read_only=True)
    for ws in wb.worksheets[1:]:
        headers += [(ws.title, str(c)) for c in next(ws.iter_rows(max_row=1, values_only=True))]
    html = (report / "index.html").read_text(encoding="utf-8")
    headers += [("index.html", h) for h in re.findall(r"<th[^>]*>([^<]*)</th>", html)]
    bad = [(where, h) for where, h in headers if h in CODE_VOCABULARY]
    assert not bad, bad
    text = _text(html)
    found = [p for p in ENGLISH if re.search(p, text)]
    assert not found, found
    # The notes of the durations step are Dutch (the sample has ages outside the bands).
    assert "buiten de leeftijdsklassen tellen niet mee" in text


def test_en_report_is_english(tmp_path):
    res = rf.refresh(SAMPLE, out_dir=tmp_path / "r", lang="en", steps=["validate", "durations"])
    km = pd.read_csv(res.out_dir / "tables" / "duur_kaplan_meier_curve.csv", sep=";", decimal=",",
                     encoding="utf-8-sig")
    assert list(km.columns) == ["Age at inflow", "Time since inflow (years)", "Still on benefit (%)",
                                "Lower bound 95%", "Upper bound 95%", "Number still on benefit"]
    text = _text((res.out_dir / "index.html").read_text(encoding="utf-8"))
    for dutch in ("Aantal", "Ondergrens", "Peildatum", "Kernpunten", "tellen niet mee", "Uitkeringen"):
        assert dutch not in text, dutch
    assert "Key findings" in text and "left out of the curves" in text


def test_label_catalogue_rules():
    assert report_label("lower_0.95") == "Ondergrens 95%"
    assert report_label("hi_80", "en") == "Upper bound 80%"
    assert report_label("median_lower_0.9") == "Mediaan: ondergrens 90%"
    assert report_label("at_risk") == "Aantal nog in de uitkering"
    assert report_label("household") == "Leefvorm" and report_label("end_reason", "en") == "End reason"


# ------------------------------------------------------------------ 2. names, not codes


def test_municipality_names_bundled_and_overridden():
    assert municipality_name("GM0168") == "Losser"
    assert municipality_name("GM9999") == "GM9999"  # unknown: the code stays
    assert municipality_names({"gm1979": "Eemsdelta"})["GM1979"] == "Eemsdelta"
    assert municipality_name("GM0168", {"GM0168": "Losser (test)"}) == "Losser (test)"
    assert len(municipality_names()) > 1400


@pytest.mark.slow
def test_names_not_codes_in_tables_and_legends(report):
    for name in ("stromen_per_jaar", "segment_per_gemeente", "kpi_uitstroom_werk"):
        t = _csv(report / "tables" / f"{name}.csv")
        assert set(t["Gemeente"]) - {"Totaal"} == {"Stadskanaal", "Veendam", "Losser"}, name
    html = (report / "index.html").read_text(encoding="utf-8")
    assert "GM0037" not in _text(html) and "Prognose van het bestand: Stadskanaal" in html
    # Cohort groups: inflow reasons by label, in numeric code order (not 1, 11, 13, ..., 2).
    groups = list(dict.fromkeys(_csv(report / "tables" / "duur_cohort_inflow_reason.csv").iloc[:, 0]))
    codes = [int(g.split(" ", 1)[0]) for g in groups]
    assert codes == sorted(codes) and groups[0].startswith("1 Beeindiging studie")
    ages = list(dict.fromkeys(_csv(report / "tables" / "duur_cohort_age_class.csv").iloc[:, 0]))
    assert ages == ["< 30 jaar", "30-50 jaar", "50+ jaar"]
    households = set(_csv(report / "tables" / "duur_cohort_household.csv").iloc[:, 0])
    assert "Alleenstaande" in households and "alleenstaand" not in households


@pytest.mark.slow
def test_fairness_attribute_by_label_and_benchmark_by_name(report):
    for name in ("segment_fairness", "segment_fairness_verhoudingen"):
        t = _csv(report / "tables" / f"{name}.csv")
        assert t.columns[0] == "Kenmerk" and "Kenmerk (code)" not in t.columns, name
        assert not [c for c in t.columns if "(code)" in c], (name, list(t.columns))
        assert {"Geslacht", "Leeftijd", "Statushouder"} <= set(t["Kenmerk"]), name
        assert not set(t["Kenmerk"]) & {"sex", "age_band", "statushouder", "migration_background"}, name
    fair = _csv(report / "tables" / "segment_fairness.csv")
    assert {"Vrouw", "Man", "45-64 jaar"} <= set(fair["Waarde"]) and not {"V", "M"} & set(fair["Waarde"])
    # The cut-off table: the method by its Dutch word, the group once (no label column beside it).
    cut = _csv(report / "tables" / "segment_afkappunten.csv")
    assert set(cut["Methode"]) == {"beslisregels"} and "Omschrijving" not in cut.columns
    # The fairness tables fit a page: the HTML shows the main columns and links the full table.
    page = (report / "index.html").read_text(encoding="utf-8")
    for name, n in (("segment_fairness", 14), ("segment_fairness_verhoudingen", 12)):
        part = page.split(f'id="s-{name}"')[1].split("</section>")[0]
        assert part.split("</thead>")[0].count("<th>") == n and f"tables/{name}.csv" in part, name
    # The CBS benchmark names the municipality (the most frequent one of the sample), not its code.
    html = _text((report / "index.html").read_text(encoding="utf-8"))
    assert "Positie van Stadskanaal tussen vergelijkbare gemeenten" in html and "GM0037" not in html


def test_municipality_names_setting(tmp_path):
    cfg = cl.load_config(SAMPLE, report={"municipality_names": {"GM0168": "Losser (eigen naam)"},
                                         "pdf": False})
    res = rf.refresh(cfg, out_dir=tmp_path / "r", steps=["validate", "flows"])
    t = _csv(res.out_dir / "tables" / "stromen_per_jaar.csv")
    assert "Losser (eigen naam)" in set(t["Gemeente"])


# ------------------------------------------------------------------ 3. tables for Dutch Excel


@pytest.mark.slow
def test_csv_excel_nl_and_workbook(report):
    raw = (report / "tables" / "kpi_duurzaamheid.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.splitlines()[0]
    t = pd.read_csv(report / "tables" / "kpi_duurzaamheid.csv", sep=";", decimal=",", encoding="utf-8-sig")
    # Shares as percentages with one decimal; the API keeps fractions.
    share = t["Aandeel (%)"]
    assert share.between(0, 100).all() and (share > 1).all()
    assert all(re.fullmatch(r"\d+,\d", v) for v in _csv(report / "tables" / "kpi_duurzaamheid.csv")["Aandeel (%)"])
    cfg = cl.load_config(SAMPLE)
    from caseload.kpi.report import kpi_results

    res = kpi_results(cl.read_extract(config=cfg), cfg)
    np.testing.assert_allclose(share.to_numpy(), np.round(100 * res.durability["share"].to_numpy(), 1))
    # "Cliënten" survives (BOM): the header is read back intact.
    assert "Cliënten" in _csv(report / "tables" / "kpi_uitkeringen_per_client.csv").columns
    # Years never with a thousands separator, in the CSV and in the HTML.
    years = _csv(report / "tables" / "stromen_per_jaar.csv")["Jaar"]
    assert all(re.fullmatch(r"20\d\d", y) for y in years)
    html = (report / "index.html").read_text(encoding="utf-8")
    assert not re.findall(r">(19|20)\.\d{2}\d<", html.split('id="t-stromen_per_jaar"')[1].split("</table>")[0])
    # Dates as dates in the workbook.
    ws = load_workbook(report / "tabellen.xlsx")["prognose_caseload_prognose"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(2, header.index("Maand") + 1)
    assert isinstance(cell.value, datetime) and cell.number_format == "dd-mm-yyyy"


# ------------------------------------------------------------------ 4. Kernpunten first


@pytest.mark.slow
def test_kernpunten_first_and_consistent(report):
    html = (report / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<h2[^>]*>([^<]*)</h2>", html)[0] == "Kernpunten"
    manifest = json.loads((report / "manifest.json").read_text())
    findings = manifest["findings"]
    flows = _csv(report / "tables" / "stromen_per_jaar.csv")
    flows = flows[flows["Jaar"] == "2025"].set_index("Gemeente")
    composition = _csv(report / "tables" / "bestand_geslacht.csv").set_index("Geslacht")
    for muni in ("Stadskanaal", "Veendam", "Losser"):
        mine = [f for f in findings if f["group"] == muni]
        assert 6 <= len(mine) <= 10, muni
        stock = next(f for f in mine if f["topic"] == "stock")
        # The headline stock is the stock of the flows table at the peildatum (31-12-2025).
        assert stock["headline"].replace(".", "") == flows.loc[muni, "Bestand eind van het jaar"]
    total = next(f for f in findings if f["group"] == "Alle gemeenten samen" and f["topic"] == "stock")
    assert total["headline"].replace(".", "") == composition.loc["Totaal", "Aantal"]
    # Every finding links to an element of the page.
    for anchor in re.findall(r'<a href="#([^"]+)">\(zie', html):
        assert f'id="{anchor}"' in html, anchor
    assert any(f["topic"] == "capacity" for f in findings)


def test_kernpunten_never_print_a_small_count(tmp_path):
    cfg = cl.load_config(SAMPLE, privacy={"min_cell": 100}, report={"pdf": False})
    res = rf.refresh(cfg, out_dir=tmp_path / "r", steps=["validate", "stock", "segment", "flows"])
    findings = json.loads((res.out_dir / "manifest.json").read_text())["findings"]
    for f in findings:
        sentence = re.sub(r"\d{2}-\d{2}-\d{4}", "", f["sentence"])  # dates are not counts
        # The change over a year is a difference of two counts that are both printed (>= min_cell).
        sentence = re.sub(r"\d[\d.]* (meer|minder) dan", "", sentence)
        numbers = [int(x.replace(".", "")) for x in re.findall(r"(?<![\d,])\d[\d.]*(?![\d,%])", sentence)]
        # zeros are published (a table shows 0); "3-6 maanden" is a label
        assert all(n >= 100 or n == 0 or n in (3, 6) for n in numbers), f
    seg = [f for f in findings if f["topic"] == "segments"]
    assert seg and all("minder dan 100" in f["sentence"] or "niet getoond" in f["sentence"] for f in seg)


# ------------------------------------------------------------------ 5. short sections


@pytest.mark.slow
def test_short_sections(report):
    html = (report / "index.html").read_text(encoding="utf-8")
    for table in re.findall(r"<tbody>(.*?)</tbody>", html, flags=re.S):
        assert table.count("<tr>") <= MAX_HTML_ROWS
    # Long tables are linked to their CSV; the cohort curves shown as a compact cross table.
    assert 'href="tables/duur_cohort_inflow_reason.csv"' in html
    # No title twice in the contents.
    nav = html.split("<nav>")[1].split("</nav>")[0]
    titles = re.findall(r"<a href=\"#[^\"]+\">([^<]+)</a>", nav)
    assert len(titles) == len(set(titles))
    # The Losser table states why its total differs from the stock.
    losser = _csv(report / "tables" / "duur_losser_tabel.csv")
    stock = _csv(report / "tables" / "bestand_geslacht.csv")
    n_losser, n_stock = int(losser["Aantal"].iloc[-1]), int(stock["Aantal"].iloc[-1])
    assert n_losser < n_stock
    sec = html.split('id="s-duur_losser_tabel"')[1].split("</section>")[0]
    assert "tellen niet mee" in sec and "elk één keer geteld" in sec
    cfg = cl.load_config(SAMPLE)
    cs = cl.read_extract(config=cfg)
    from caseload.durations import elapsed_duration_table

    el = elapsed_duration_table(cs.spells, cs.clients, cs.peildatum)
    outside = el.attrs["outside_bands"]
    assert f"{outside} lopende uitkering(en)" in sec
    from caseload.flows import stock_at

    assert n_losser + outside == len(stock_at(cs.spells, cs.peildatum))


def test_fully_suppressed_table_becomes_a_sentence(tmp_path):
    pub = Publication("t", "2025-12-31", "b", min_cell=5)
    pub.add_table("klein", pd.DataFrame({"g": ["a", "b"], "n": [2, 3]}), title="Klein", method="m",
                  counts=["n"])
    out = write_report(pub, tmp_path / "r").out_dir
    sec = (out / "index.html").read_text(encoding="utf-8").split('id="s-klein"')[1].split("</section>")[0]
    assert "<table" not in sec and "niet getoond (onthullingscontrole)" in sec


# ------------------------------------------------------------------ 6. reproductions and periods


@pytest.mark.slow
def test_reproductions_only_when_asked_and_bundled_period(report, tmp_path):
    names = {p.stem for p in (report / "tables").glob("*.csv")}
    assert not names & {"prognose_nieuwe_doelgroepen", "prognose_beschut_werk", "prognose_controle_bron"}
    html = (report / "index.html").read_text(encoding="utf-8")
    bench = html.split('id="s-kpi_benchmark"')[1].split("</section>")[0]
    assert "jaar 2017 (CBS)" in bench and "31-12-2025" not in bench
    cfg = cl.load_config(SAMPLE, report={"reproductions": True, "pdf": False})
    res = rf.refresh(cfg, out_dir=tmp_path / "r", steps=["validate", "forecast"])
    assert (res.out_dir / "tables" / "prognose_controle_bron.csv").is_file()


def test_per_municipality_folders(tmp_path):
    cfg = cl.load_config(SAMPLE, report={"per_municipality": True})
    import warnings

    from caseload.privacy.joint_audit import audit_reports

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rf.refresh(cfg, out_dir=tmp_path / "r", steps=["validate", "stock", "segment", "flows"])
    assert not [w for w in caught if "audited each on its own" in str(w.message)]
    # The other municipalities' overrides are not "unknown clients" in a municipality's own run.
    assert not [w for w in caught if "not in the current caseload" in str(w.message)]
    beside = res.out_dir.parent / "r-gemeenten"  # beside the combined report, never inside it
    assert not (res.out_dir / "gemeenten").exists()
    folders = sorted(p.name for p in beside.iterdir() if p.is_dir())
    assert folders == ["GM0037-stadskanaal", "GM0047-veendam", "GM0168-losser"]
    # All four reports are one publication for disclosure control: audited together.
    joint = audit_reports(beside)
    assert len(joint.reports) == 4 and joint.n_cross > 0 and not joint.disclosed, joint.summary()
    combined = _csv(res.out_dir / "tables" / "segment_per_gemeente.csv").set_index("Gemeente")
    for f in folders:
        d = beside / f
        assert {"index.html", "tabellen.xlsx", "rapport.pdf"} <= {p.name for p in d.iterdir()}
        own = _csv(d / "tables" / "segment_per_gemeente.csv").set_index("Gemeente")
        name = own.index[0]
        # The same count is shown in both reports or hidden in both (Losser's C was shown as
        # 37 in its own report while the combined report hid it).
        for col in own.columns:
            a, b = own.loc[name, col], combined.loc[name, col]
            assert pd.isna(a) == pd.isna(b), (name, col, a, b)
            if not pd.isna(a):
                assert a == b
        assert name in (d / "index.html").read_text(encoding="utf-8")
    # The combined report links to each municipality's report by its name, and the link works.
    links = dict((name, href) for href, name in re.findall(r'<a href="([^"]+)">([^<]+)</a>',
                 (res.out_dir / "index.html").read_text(encoding="utf-8")) if "-gemeenten/" in href)
    assert sorted(links) == ["Losser", "Stadskanaal", "Veendam"], links
    assert all((res.out_dir / href).resolve().is_file() for href in links.values()), links
    # The key findings come after the joint protection; a count it hides is said in words,
    # never put into a sentence as "hadden niet getoond cliënten".
    for d in [res.out_dir, *(beside / f for f in folders)]:
        html = (d / "index.html").read_text(encoding="utf-8")
        assert "Kernpunten" in html
        assert not re.search(r"(hadden|begonnen|eindigden er|waarvan) niet getoond", html), d


# ------------------------------------------------------------------ 7. the PDF


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_a4_page_numbers_and_page_one_not_blank(report, tmp_path):
    pdf = report / "rapport.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "2", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Kernpunten" in text and f"Pagina 1 van {pages}" in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
                   check=True)
    from PIL import Image

    img = np.asarray(Image.open(next(tmp_path.glob("p*.png"))).convert("L"))
    dark = (img < 200).mean()
    assert dark > 0.02, f"page 1 is (nearly) blank: {dark:.3%} dark pixels"
    # Deterministic: the document dates are the peildatum, not the time of the run.
    assert re.search(r"CreationDate:\s+Wed Dec 31 00:00:00 2025", info)


def test_pdf_is_deterministic(tmp_path):
    pub_a, pub_b = (Publication("t", "2025-12-31", "b") for _ in range(2))
    for pub in (pub_a, pub_b):
        pub.pdf = True
        pub.add_table("t", pd.DataFrame({"g": ["a", "b"], "n": [20, 30]}), title="T", method="m",
                      counts=["n"])
    a = write_report(pub_a, tmp_path / "a").out_dir / "rapport.pdf"
    b = write_report(pub_b, tmp_path / "b").out_dir / "rapport.pdf"
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.slow
def test_workbook_is_a_zip_with_fixed_dates(report):
    with zipfile.ZipFile(report / "tabellen.xlsx") as z:
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())


def test_display_rules_on_a_small_table(tmp_path):
    """Shares -> percent (one decimal), years plain, ISO text dates -> dates, booleans ja/nee,
    codes -> names and labels, headers from the catalogue; the API table is not changed."""
    df = pd.DataFrame({"municipality": ["GM0168", "GM9999"], "year": [2021, 2022],
                       "household": ["alleenstaand", "paar"], "n": [1200, 40],
                       "share": [0.12345, 0.5], "flag": [True, False],
                       "telmoment": ["2021-12-31", "2022-12-31"]})
    before = df.copy()
    pub = Publication("t", "2025-12-31", "b")
    pub.add_table("t", df, title="T", method="m", counts=["n"], percentages={"share": "n"},
                  secondary=False)
    out = write_report(pub, tmp_path / "r").out_dir
    pd.testing.assert_frame_equal(df, before)
    rows = (out / "tables" / "t.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "Gemeente;Jaar;Leefvorm;Aantal;Aandeel (%);flag;telmoment"
    assert rows[1] == "Losser;2021;Alleenstaande;1200;12,3;ja;31-12-2021"
    assert rows[2] == "GM9999;2022;(Echt)paar zonder kinderen;40;50,0;nee;31-12-2022"
    html = (out / "index.html").read_text(encoding="utf-8")
    assert ">2021<" in html and ">1.200<" in html and ">12,3<" in html and ">31-12-2021<" in html
    ws = load_workbook(out / "tabellen.xlsx")["t"]
    assert isinstance(ws["G2"].value, datetime) and ws["G2"].number_format == "dd-mm-yyyy"
    assert ws["E2"].value == pytest.approx(12.3) and ws["B2"].value == 2021

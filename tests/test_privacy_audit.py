"""The disclosure audit (caseload.privacy.audit) and the suppression that passes it.

Intervals are checked against hand calculations; the sample reproductions of issue 11
(differencing in stromen_per_maand and capaciteit_contactschema) against the numbers the
issue found by hand.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from caseload.cli import app
from caseload.privacy import audit as au
from caseload.publish import Publication, PublishError, suppress_table, write_report
from caseload.publish import suppression as S

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "caseload.toml"


def _table(name, values, suppressed, *, half=None, nonneg=None):
    values = np.asarray(values, dtype=float)
    suppressed = np.asarray(suppressed, dtype=bool)
    shown = np.where(suppressed, np.nan, values)
    ncol = values.shape[1]
    return au.PublishedTable(name, shown, suppressed,
                             np.zeros(ncol) if half is None else np.asarray(half, dtype=float),
                             np.ones(ncol, dtype=bool) if nonneg is None else np.asarray(nonneg))


def _resolve(relations, tables):
    return [(tuple((au.resolve_cell(c, tables), k) for c, k in r.terms), r.op, r.rhs) for r in relations]


def _intervals(tables, relations, protection=5):
    tables = {t.name: t for t in tables}
    return {(iv.table, iv.row, iv.column): iv
            for iv in au.audit_cells(tables, _resolve(relations, tables), protection)}


# ------------------------------------------------------------------ each relation type


def test_total_gives_back_a_lone_suppressed_cell_and_not_a_pair():
    # rows 12, 3, 20 and their total 35; column 0 only.
    t = _table("t", [[12], [3], [20], [35]], [[False], [True], [False], [False]])
    rel = au.column_sums("t", [0], [0, 1, 2], 3)
    iv = _intervals([t], rel)[("t", 1, 0)]
    assert (iv.low, iv.high, iv.disclosed) == pytest.approx((3, 3, True))
    # With the 12 also suppressed the pair adds up to 15: each lies in [0, 15].
    t = _table("t", [[12], [3], [20], [35]], [[True], [True], [False], [False]])
    ivs = _intervals([t], rel)
    assert (ivs[("t", 1, 0)].low, ivs[("t", 1, 0)].high) == pytest.approx((0, 15))
    assert not ivs[("t", 0, 0)].disclosed
    # ... but a 3 paired with a 1 is narrowed to [0, 4]: narrower than 5, disclosed.
    t = _table("t", [[1], [3], [20], [24]], [[True], [True], [False], [False]])
    assert _intervals([t], rel)[("t", 1, 0)].disclosed


def test_stock_identity_differencing():
    # stock, inflow, outflow; month 2: 273 -> 265 with outflow 11 gives inflow 3.
    vals = [[273, 10, 10], [265, 3, 11], [270, 12, 7]]
    supp = [[False] * 3, [False, True, False], [False] * 3]
    rel = au.stock_identity("f", 0, 1, 2, 3)
    iv = _intervals([_table("f", vals, supp)], rel)[("f", 1, 1)]
    assert (iv.low, iv.high) == pytest.approx((3, 3)) and iv.disclosed
    # Inflow and outflow both hidden: inflow - outflow = -8 leaves inflow in [0, inf).
    supp = [[False] * 3, [False, True, True], [False] * 3]
    ivs = _intervals([_table("f", vals, supp)], rel)
    assert ivs[("f", 1, 1)].low == pytest.approx(0) and math.isinf(ivs[("f", 1, 1)].high)
    assert ivs[("f", 1, 2)].low == pytest.approx(8)  # outflow >= 8 follows


def test_derived_column_with_its_total_gives_back_both_counts():
    """Issue 11: capaciteit_contactschema, clients 4 and 6 from the contacts total."""
    clients = [31, 4, 103, 6, 136, 0, 280]
    per = [26, 26, 4, 12, 2, 10]
    contacts = [c * k for c, k in zip(clients, per, strict=False)] + [1666]
    vals = np.column_stack([clients, contacts])
    supp = np.zeros(vals.shape, dtype=bool)
    supp[[1, 3], :] = True
    rel = au.column_sums("c", [0, 1], list(range(6)), 6)
    rel += au.product_relations("c", 1, 0, dict(enumerate(per)))
    ivs = _intervals([_table("c", vals, supp)], rel)
    assert (ivs[("c", 1, 0)].low, ivs[("c", 1, 0)].high) == pytest.approx((4, 4))
    assert (ivs[("c", 3, 0)].low, ivs[("c", 3, 0)].high) == pytest.approx((6, 6))
    # Without the derived column the pair is only known to add up to 10.
    ivs = _intervals([_table("c", vals, supp)], au.column_sums("c", [0], list(range(6)), 6))
    assert (ivs[("c", 1, 0)].low, ivs[("c", 1, 0)].high) == pytest.approx((0, 10))


def test_same_count_in_another_table():
    a = _table("a", [[7], [2]], [[False], [True]])
    b = _table("b", [[2]], [[False]])
    rel = [au.same_count(au.Cell("a", 1, 0), au.Cell("b", 0, 0))]
    iv = _intervals([a, b], rel)[("a", 1, 0)]
    assert (iv.low, iv.high, iv.disclosed) == pytest.approx((2, 2, True))


def test_bound_relation_and_rounding_halfwidth():
    # outflow to work <= outflow = 3: work in [0, 3].
    t = _table("w", [[3, 1]], [[False, True]])
    iv = _intervals([t], [au.at_most(au.Cell("w", 0, 1), au.Cell("w", 0, 0))])[("w", 0, 1)]
    assert (iv.low, iv.high, iv.disclosed) == pytest.approx((0, 3, True))
    # Hours published to 2 decimals (half-width 0.005), hours = contacts x 124 / 60.
    t = _table("h", [[104, 214.93]], [[True, False]], half=[0, 0.005])
    rel = au.product_relations("h", 1, 0, {0: 124 / 60})
    iv = _intervals([t], rel)[("h", 0, 0)]
    assert iv.low == pytest.approx((214.93 - 0.005) * 60 / 124)
    assert iv.high == pytest.approx((214.93 + 0.005) * 60 / 124)


def test_a_cell_pinned_to_zero_reveals_nobody():
    """Zeros are published anyway: a hidden cell the relations fix at 0 is not disclosed,
    one they fix at 2 is."""
    for hidden, disclosed in ((0, False), (2, True)):
        t = _table("t", [[12], [hidden], [20], [32 + hidden]], [[False], [True], [False], [False]])
        iv = _intervals([t], au.column_sums("t", [0], [0, 1, 2], 3))[("t", 1, 0)]
        assert (iv.low, iv.high) == pytest.approx((hidden, hidden))
        assert iv.disclosed is disclosed


def test_relation_holds_checks_the_unsuppressed_numbers():
    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    assert au.relation_holds(au.sum_relation([au.Cell("x", 0, "a"), au.Cell("x", 1, "a")],
                                             au.Cell("x", 0, "b")), {"x": df})
    assert not au.relation_holds(au.at_most(au.Cell("x", 1, "b"), au.Cell("x", 0, "b")), {"x": df})


def test_contradicting_relations_are_an_error_not_a_pass():
    # 5 + x = 11 and x <= 3 cannot both hold.
    t = _table("t", [[6], [5], [11]], [[True], [False], [False]])
    rels = [*au.column_sums("t", [0], [0, 1], 2), au.Relation(((au.Cell("t", 0, 0), 1.0),), "<=", 3.0)]
    with pytest.raises(au.AuditError, match="contradict"):
        au.audit_cells({"t": t}, _resolve(rels, {"t": t}), 5)
    # A total between published cells that is not their sum: also an error.
    t = _table("t", [[6], [5], [12]], [[False], [False], [False]])
    with pytest.raises(au.AuditError, match="contradict"):
        au.audit_cells({"t": t}, _resolve(au.column_sums("t", [0], [0, 1], 2), {"t": t}), 5)


# ------------------------------------------------------------------ suppression passes the audit


def _flows_pub(stock, inflow, outflow):
    df = pd.DataFrame({"month": [f"2025-{m:02d}" for m in range(1, len(stock) + 1)],
                       "stock": stock, "inflow": inflow, "outflow": outflow})
    pub = Publication("t", "2025-12-31", "test")
    pub.add_table("flows", df, title="t", method="m", counts=["stock", "inflow", "outflow"],
                  relations=au.stock_identity("flows", "stock", "inflow", "outflow", len(df)))
    return pub


def test_suppression_protects_the_stock_identity():
    inflow = [15, 9, 11, 3, 12, 10]
    outflow = [8, 13, 10, 11, 9, 2]
    stock = list(np.cumsum(np.array(inflow) - np.array(outflow)) + 270)
    pub = _flows_pub(stock, inflow, outflow)
    results, intervals = S.protect_publication(pub)
    assert not [iv for iv in intervals if iv.disclosed]
    table = results["flows"][0]
    assert table["inflow"].isna().iloc[3]  # the primary 3 stays hidden ...
    assert table["outflow"].isna().iloc[3]  # ... and so does its partner in the identity


@st.composite
def _tables_with_identity(draw):
    m = draw(st.integers(2, 5))
    n = draw(st.integers(2, 4))
    small = st.one_of(st.integers(0, 6), st.integers(0, 60))
    body = np.array(draw(st.lists(st.lists(small, min_size=n, max_size=n), min_size=m, max_size=m)))
    months = draw(st.integers(2, 6))
    inflow = np.array(draw(st.lists(small, min_size=months, max_size=months)))
    outflow = np.array(draw(st.lists(small, min_size=months, max_size=months)))
    return body, inflow, outflow


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables_with_identity())
def test_random_tables_with_totals_and_identities_pass_the_audit(data):
    """Any table with row and column totals, and any flow table with the stock identity:
    after suppression no suppressed count is narrower than min_cell, and every true
    value lies inside its interval."""
    body, inflow, outflow = data
    m, n = body.shape
    cross = pd.DataFrame(body, columns=[f"c{j}" for j in range(n)])
    cross["tot"] = cross.sum(axis=1)
    cross = pd.concat([cross, cross.sum(axis=0).to_frame().T], ignore_index=True)
    cross.insert(0, "label", [f"r{i}" for i in range(m)] + ["Totaal"])
    stock = np.cumsum(inflow - outflow) + 200
    pub = _flows_pub(stock, inflow, outflow)
    pub.add_table("cross", cross, title="t", method="m", counts=[*cross.columns[1:]],
                  row_total="Totaal", col_total="tot")
    results, intervals = S.protect_publication(pub)
    assert not [iv for iv in intervals if iv.disclosed]
    truth = {"flows": pd.DataFrame({"month": 0, "stock": stock, "inflow": inflow, "outflow": outflow}),
             "cross": cross}
    for iv in intervals:
        v = float(truth[iv.table].iat[iv.row, iv.column])
        assert iv.low - 1e-6 <= v <= iv.high + 1e-6
    # Primary cells are all hidden.
    shown = results["cross"][0].iloc[:, 1:].to_numpy(dtype=float, na_value=np.nan)
    raw = cross.iloc[:, 1:].to_numpy(dtype=float)
    assert np.isnan(shown[(raw > 0) & (raw < 5)]).all()


# ------------------------------------------------------------------ report folder and CLI


def _publish_tiny(tmp_path, relations_extra=()):
    df = pd.DataFrame({"label": ["a", "b", "c", "Totaal"], "n": [12, 3, 20, 35]})
    pub = Publication("t", "2025-12-31", "test")
    pub.add_table("t", df, title="t", method="m", counts=["n"], row_total="Totaal",
                  relations=list(relations_extra))
    return pub, write_report(pub, tmp_path / "rep")


def test_report_folder_has_relations_and_passes_the_cli_audit(tmp_path):
    pub, res = _publish_tiny(tmp_path)
    doc = json.loads((res.out_dir / "relations.json").read_text())
    assert doc["tables"]["t"]["suppressed"] == [[0, 1], [1, 1]]  # the 3 and its complement 12
    assert res.manifest["disclosure_audit"]["disclosed"] == 0
    out = CliRunner().invoke(app, ["audit", str(res.out_dir)])
    assert out.exit_code == 0, out.output
    assert re.search(r":\s+0\s+onthuld", out.output)  # Dutch: the report's language
    # A suppressed cell that appears in the CSV after all is caught: exit code 1.
    csv = res.out_dir / "tables" / "t.csv"
    raw = csv.read_bytes()
    assert b"\r\nb;\r\n" in raw  # excel-nl: ';' separated, CRLF, the blank is the hidden 3
    csv.write_bytes(raw.replace(b"\r\nb;\r\n", b"\r\nb;3\r\n"))
    out = CliRunner().invoke(app, ["audit", str(res.out_dir)])
    assert out.exit_code == 1 and "ONTHULD" in out.output


def test_write_report_refuses_a_report_that_discloses(tmp_path):
    """A relation to a table without counts (not suppressed) gives the cell away: refused."""
    (tmp_path / "rep").mkdir()  # an empty folder: a report may be written there
    df = pd.DataFrame({"label": ["a", "b", "c", "Totaal"], "n": [12, 3, 20, 35]})
    copy = pd.DataFrame({"what": ["b"], "value": [3]})
    pub = Publication("t", "2025-12-31", "test")
    pub.add_table("t", df, title="t", method="m", counts=["n"], row_total="Totaal",
                  relations=[au.same_count(au.Cell("t", 1, "n"), au.Cell("copy", 0, "value"))])
    pub.add_table("copy", copy, title="c", method="m",
                  suppression_note="a model value, not a count")
    with pytest.raises(PublishError, match="disclosure audit found 1 suppressed"):
        write_report(pub, tmp_path / "rep")
    assert list((tmp_path / "rep").iterdir()) == []  # nothing was published


def test_audit_of_a_folder_without_relations_is_a_clear_error(tmp_path):
    out = CliRunner().invoke(app, ["audit", str(tmp_path)])
    assert out.exit_code == 2 and "relations.json" in out.output


# ------------------------------------------------------------------ the sample (issue 11)


@pytest.fixture(scope="module")
def sample_publication():
    from caseload.config import load_config
    from caseload.extract import read_extract
    from caseload.refresh import run_steps

    cfg = load_config(SAMPLE)
    cl = read_extract([cfg.resolve(f) for f in cfg.extract.files], mapping=cfg.extract.mapping,
                      peildatum=cfg.extract.peildatum, config=cfg)
    pub, _ = run_steps(cfg, cl, ["flows", "kpi", "capacity"])
    return pub


def _audit_unprotected(pub, kinds=None):
    """The audit of the suppression as it was before the audit existed (rows and columns only)."""
    items = {it.name: it for it in pub.tables}
    old = {n: S._suppress_once(it, pub.min_cell, {}) for n, it in items.items()}
    tables = {n: S.published_table(items[n], old[n][0]) for n in items}
    rels = [r for it in pub.tables for r in S.table_relations(it) if kinds is None or r.kind in kinds]
    return au.audit_cells(tables, S.resolve_relations(rels, tables, items), pub.min_cell)


@pytest.mark.slow
@pytest.mark.skipif(not SAMPLE.is_file(), reason="data/sample is missing")
def test_sample_differencing_reproduced_then_closed(sample_publication):
    pub = sample_publication
    # The stock identity alone gives back 16 blanked cells of stromen_per_maand (issue 11),
    # among them the primary 4 of 2024-11 (row 10, outflow) and 4 of 2024-12 (row 11, inflow).
    flows = [r for r in pub.tables[1].relations if r.kind == "identity" and "first" not in r.note]
    items = {it.name: it for it in pub.tables}
    old = {n: S._suppress_once(it, pub.min_cell, {}) for n, it in items.items()}
    tables = {n: S.published_table(items[n], old[n][0]) for n in items}
    ivs = au.audit_cells(tables, S.resolve_relations(flows, tables, items), pub.min_cell)
    hit = {(iv.row, iv.column): iv.low for iv in ivs if iv.disclosed and iv.table == "stromen_per_maand"}
    assert len(hit) == 16
    assert hit[(10, 3)] == pytest.approx(4) and hit[(11, 2)] == pytest.approx(4)
    # (The capacity table of this sample has no cell below min_cell; its differencing, clients 4
    # and 6 from the contacts total, is reproduced on the numbers above.)
    # With the audit-driven suppression: nothing disclosed.
    _, intervals = S.protect_publication(pub)
    assert not [iv for iv in intervals if iv.disclosed]


@pytest.mark.slow
@pytest.mark.skipif(not SAMPLE.is_file(), reason="data/sample is missing")
def test_capacity_figure_labels_only_published_counts(sample_publication):

    pub = sample_publication
    item = next(t for t in pub.tables if t.name == "capaciteit_contactschema")
    fig = next(f for f in pub.figures if f.name == "capaciteit_contactschema").figure
    shown = suppress_table(item, pub.min_cell)[0]
    published = {int(v) for v in shown["clients"].dropna()}
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    counts = [int(m) for lab in labels for m in re.findall(r"\((\d+) cl\.\)", lab)]
    assert counts and set(counts) <= published
    assert not any("< " in lab and "cl." in lab for lab in labels)
    hidden = (shown["clients"].isna() | shown["fte"].isna()) \
        & (pd.to_numeric(item.data["clients"]) != 0).to_numpy()
    hidden = hidden.iloc[:-1]  # the total row has no bar of its own
    assert sum("niet getoond" in lab for lab in labels) == int(hidden.sum())


@pytest.mark.slow
@pytest.mark.skipif(not SAMPLE.is_file(), reason="data/sample is missing")
def test_kpi_figure_marks_hidden_rows_without_saying_they_are_small(sample_publication):
    """The outflow-to-work figure draws the published table: a row whose count the table
    hides (primary or secondary) is marked "niet getoond", without "< 5" (which would tell
    the reader which hidden counts are the small ones)."""
    from caseload.figures.kpi import kpi_target_figure

    pub = sample_publication
    item = next(t for t in pub.tables if t.name == "kpi_uitstroom_werk")
    published = suppress_table(item, pub.min_cell)[0]
    published["n_spells"] = published["n_spells"].astype("Int64")
    published.loc[[0, 2], "n_spells"] = pd.NA  # as if hidden (e.g. one small, one complement)
    published["judgement"] = "niet_verschillend"
    fig = kpi_target_figure(published, by=[c for c in ("segment", "municipality") if c in published])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("niet getoond") == 2
    assert not any(t.startswith("< ") for t in texts)

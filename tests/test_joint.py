"""Joint disclosure control of a combined report and its reports per municipality."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.privacy import audit as au
from caseload.privacy.joint_audit import audit_reports, check_reports
from caseload.publish import Publication, write_report
from caseload.publish.joint import SEP, joint_document, protect_jointly
from caseload.publish.suppression import (
    protect_publication,
    published_table,
    resolve_relations,
    table_relations,
)


def _pub(rows: dict[str, tuple[int, int]]) -> Publication:
    pub = Publication("t", "2025-12-31", "b", min_cell=5)
    df = pd.DataFrame({"Gemeente": [*rows, "Totaal"],
                       "A": [a for a, _ in rows.values()] + [sum(a for a, _ in rows.values())],
                       "B": [b for _, b in rows.values()] + [sum(b for _, b in rows.values())]})
    df["Totaal_n"] = df["A"] + df["B"]
    pub.add_table("per_gemeente", df, title="t", method="m", counts=["A", "B", "Totaal_n"],
                  row_total="Totaal", col_total="Totaal_n")
    return pub


ROWS = {"g1": (3, 40), "g2": (20, 30), "g3": (25, 35)}


def _reports():
    pubs = {"all": _pub(ROWS)}
    for g, v in ROWS.items():
        pubs[g] = _pub({g: v})
    return pubs


def _joint_audit(pubs, results, cross):
    """The LP audit of all reports together, with the cross-report relations."""
    tables, items, rels = {}, {}, []
    from caseload.publish.joint import _renamed

    for k, pub in pubs.items():
        for it in pub.tables:
            ns = _renamed(it, k)
            items[ns.name] = ns
            tables[ns.name] = published_table(ns, results[k][it.name][0])
            rels += table_relations(ns)
    return au.audit_cells(tables, resolve_relations(rels + cross, tables, items), 5.0)


def test_separate_suppression_leaks_and_joint_does_not():
    pubs = _reports()
    cross = protect_jointly(_reports(), "all")  # only for the relations (same names)
    alone = {k: protect_publication(p)[0] for k, p in pubs.items()}
    # Each report on its own passes its own audit, yet together they disclose counts:
    # g1's own report shows its row's totals that the combined report hides.
    leaked = [iv for iv in _joint_audit(pubs, alone, cross) if iv.disclosed]
    assert leaked, "the constructed case should leak under separate suppression"
    assert any(iv.table == f"all{SEP}per_gemeente" for iv in leaked)
    joint_pubs = _reports()
    protect_jointly(joint_pubs, "all")
    joint = {k: protect_publication(p)[0] for k, p in joint_pubs.items()}
    assert not [iv for iv in _joint_audit(joint_pubs, joint, cross) if iv.disclosed]
    # the small count of g1 is hidden in both reports that publish it
    assert pd.isna(joint["all"]["per_gemeente"][0]["A"].iloc[0])
    assert pd.isna(joint["g1"]["per_gemeente"][0]["A"].iloc[0])


def test_joint_audit_of_written_folders(tmp_path):
    for joint in (False, True):
        pubs = _reports()
        cross = protect_jointly(_reports(), "all")
        if joint:
            protect_jointly(pubs, "all")
        base = tmp_path / ("joint" if joint else "alone")
        folders = {"all": base / "all", **{g: base / "parts" / g for g in ROWS}}
        for k, pub in pubs.items():
            write_report(pub, folders[k])
        doc = joint_document(cross, pubs, {"all": "../all", **{g: g for g in ROWS}})
        (base / "parts" / "joint-relations.json").write_text(json.dumps(doc), encoding="utf-8")
        rep = audit_reports(base / "parts")
        assert rep.n_cross == len(cross) > 0
        # `caseload audit <folder>` audits the folder with joint-relations.json together
        res = CliRunner().invoke(app, ["audit", str(base / "parts")])
        assert res.exit_code == (0 if joint else 1), res.output
        assert "tussen rapporten" in " ".join(res.output.split())
        if joint:
            assert not rep.disclosed, rep.summary()
            check_reports(base / "parts")
        else:
            assert rep.disclosed
            with pytest.raises(au.AuditError, match="published together disclose"):
                check_reports(base / "parts")


def test_cross_relations_hold_in_the_data():
    pubs = _reports()
    cross = protect_jointly(pubs, "all")
    kinds = {r.kind for r in cross}
    assert kinds == {"joint_sum"}
    # combined row g1 = g1's own row (one part); the total row = sum of the three total rows
    one = [r for r in cross if len(r.terms) == 2]
    three = [r for r in cross if len(r.terms) == 4]
    assert len(one) == 9 and len(three) == 3
    assert np.all([t[1] == -1.0 for r in three for t in r.terms[1:]])

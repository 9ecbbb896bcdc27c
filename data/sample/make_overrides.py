"""Write ``overrides.csv``: the demo caseworkers' overrides of the sample's A/B/C groups.

Run from the repository root after regenerating the sample with ``caseload synth``::

    python data/sample/make_overrides.py

The overrides are chosen, reproducibly (seed 2025), from the rules' segmentation of the open
caseload on the peildatum, so that each one changes a group or confirms one:

- 3 clients from C to B ("schulden geregeld"), 3 from B or C to A ("sollicitatietraining
  afgerond"), 3 from A or B to C ("mantelzorg toegenomen"), 3 from A to B ("taalniveau"),
  dated 10, 11 and 12 November 2025, each for a client whose latest assessment is older;
- 1 confirmation of a C ("bevestigd na huisbezoek"), 20 November 2025;
- 2 of the twelve changes are dated the day before their client's latest assessment (in
  November or December 2025), so they expire: the batch run keeps them in its log and does
  not apply them.

The client numbers are found by pseudonymising every ``Clientnummer`` of ``clienten.csv`` with a
throw-away key and matching the pseudonyms of the chosen clients; the key is not kept.
"""
from __future__ import annotations

import csv
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

CHANGES = [  # (from groups, to group, reason)
    ("C", "B", "Schulden geregeld via schuldhulpverlening; start werkfit-traject"),
    ("BC", "A", "Heeft sollicitatietraining afgerond en is direct beschikbaar"),
    ("AB", "C", "Mantelzorg voor ouder is recent fors toegenomen"),
    ("A", "B", "Taalniveau onvoldoende voor de beoogde functie; eerst taaltraject"),
]
DATES = [pd.Timestamp("2025-11-10"), pd.Timestamp("2025-11-11"), pd.Timestamp("2025-11-12")]
CONFIRM = ("C", "Bevestigd na huisbezoek", pd.Timestamp("2025-11-20"))
N_EXPIRED = 2


def main() -> Path:
    os.environ["CASELOAD_PSEUDONYM_KEY"] = secrets.token_hex(32)  # throw-away key, never written
    import caseload as cl
    from caseload.privacy.pseudonyms import load_key, pseudonymize

    cfg = cl.load_config(HERE / "caseload.toml")
    cs = cl.read_extract(config=cfg)
    res = cl.segment(cs, cfg.segment)  # the segment settings only: no overrides applied
    cur = res.clients[res.clients["segment"].notna() & ~res.clients["reassess"]]
    latest = cs.assessments.groupby("client_id")["assessed_on"].max()
    numbers = pd.read_csv(HERE / "clienten.csv", sep=";", dtype=str, encoding="cp1252")["client_id"]
    by_pseudonym = dict(zip(pseudonymize(numbers, load_key()).astype(str), numbers, strict=True))
    # Sorted by client number, not by pseudonym (which changes with the key): reproducible.
    cur = cur.assign(latest=cur["client_id"].map(latest),
                     number=cur["client_id"].astype(str).map(by_pseudonym)).sort_values("number")

    rng = np.random.default_rng(2025)
    used: set[str] = set()
    rows = []

    def pick(groups: str, n: int, before: pd.Timestamp | None = None, after: pd.Timestamp | None = None):
        pool = cur[cur["segment"].astype(str).isin(list(groups)) & ~cur["client_id"].isin(used)]
        if before is not None:
            pool = pool[pool["latest"] < before]
        if after is not None:
            pool = pool[pool["latest"] > after]
        if len(pool) < n:
            raise SystemExit(f"only {len(pool)} clients in groups {groups}; need {n}")
        chosen = pool.iloc[np.sort(rng.choice(len(pool), n, replace=False))]
        used.update(chosen["client_id"])
        return chosen

    # The two expiring overrides: clients assessed after the override dates.
    expiring = pick("AB", N_EXPIRED, after=DATES[-1])
    for groups, to, reason in CHANGES:
        if to == "C":  # the first two "to C" expire: dated the day before the latest assessment
            dated = [(row, row.latest - pd.Timedelta(days=1)) for row in expiring.itertuples()]
            dated += zip(pick(groups, len(DATES) - N_EXPIRED, before=DATES[0]).itertuples(),
                         DATES[N_EXPIRED:], strict=True)
        else:
            dated = zip(pick(groups, len(DATES), before=DATES[0]).itertuples(), DATES, strict=True)
        rows += [(row.number, to, reason, date) for row, date in dated]
    seg, reason, date = CONFIRM
    row = next(pick(seg, 1, before=date).itertuples())
    rows.append((row.number, seg, reason, date))

    out = HERE / "overrides.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";", lineterminator="\n")
        w.writerow(["Clientnummer", "segment", "reden", "datum"])
        for number, seg, reason, date in rows:
            w.writerow([number, seg, reason, date.strftime("%d-%m-%Y")])
    return out


if __name__ == "__main__":
    print(main())

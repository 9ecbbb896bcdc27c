"""Tests for caseload.privacy: pseudonyms, key handling, BSN guard, disclosure control.

References are independent of the implementation: :mod:`hmac` for the pseudonyms, the
11-test written out digit by digit, and numpy's matrix rank for "can a suppressed cell be
recomputed from the totals".
"""

from __future__ import annotations

import hmac
import io
import json
import re
import stat
import warnings
from hashlib import sha256

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseload import privacy
from caseload.errors import CaseloadError
from caseload.privacy import (
    KEY_ENV,
    PrivacyError,
    check_file_no_bsn,
    check_no_bsn,
    is_valid_bsn,
    load_key,
    looks_like_bsn,
    mask_value,
    pseudonymize,
    published_table_guard,
    suppress_long,
    suppress_percentages,
    suppress_small_cells,
)

matplotlib.use("Agg")

KEY = b"test key for pseudonyms"


def ref_pseudonym(key: bytes, value: str, domain: str = "client") -> str:
    return hmac.new(key, f"{domain}:{value}".encode(), sha256).hexdigest()[:20]


def ref_elfproef(number: str) -> bool:
    """The 11-test written out: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9, a multiple of 11."""
    d = [int(c) for c in number.zfill(9)]
    total = sum(w * x for w, x in zip([9, 8, 7, 6, 5, 4, 3, 2, -1], d, strict=True))
    return total % 11 == 0 and any(d)


# ---------------------------------------------------------------- pseudonyms


def test_pseudonym_matches_hmac_reference():
    p = pseudonymize(["123", "abc-7"], KEY)
    assert p.tolist() == [ref_pseudonym(KEY, "123"), ref_pseudonym(KEY, "abc-7")]
    long_key = b"k" * 100  # longer than the SHA-256 block: HMAC hashes the key first
    assert pseudonymize([42], long_key)[0] == ref_pseudonym(long_key, "42")


def test_pseudonyms_stable_across_extract_formats():
    # January: text export with leading zeros and padding; February: numbers from Excel.
    january = pd.Series(["000123", " 4567 ", "0089", "AB-12", None, ""], name="clientnr")
    february = pd.Series([123, 4567, 89.0, "AB-12", np.nan, "   "], dtype=object)
    p1, p2 = pseudonymize(january, KEY), pseudonymize(february, KEY)
    assert str(p1.dtype) == "string"
    assert p1.iloc[:4].tolist() == p2.iloc[:4].tolist()
    assert p1.iloc[0] == ref_pseudonym(KEY, "123")
    assert p1.iloc[4:].isna().all() and p2.iloc[4:].isna().all()
    assert p1.name == "clientnr" and p1.index.equals(january.index)
    # Nullable integers, floats with gaps and Arrow strings give the same answer.
    for other in (pd.Series([123, None], dtype="Int64"), pd.Series([123.0, np.nan]),
                  pd.Series(["0123", None], dtype="string[pyarrow]")):
        out = pseudonymize(other, KEY)
        assert out.iloc[0] == p1.iloc[0] and pd.isna(out.iloc[1])


def test_pseudonyms_differ_by_key_and_domain():
    ids = [str(i) for i in range(1, 200)]
    base = pseudonymize(ids, KEY)
    assert base.str.fullmatch(r"[0-9a-f]{20}").all()
    assert base.nunique() == len(ids)
    assert (pseudonymize(ids, b"another key") != base).all()
    assert (pseudonymize(ids, KEY, domain="dossier") != base).all()


def test_each_distinct_value_hashed_once(monkeypatch):
    seen = []
    real = privacy.pseudonyms._hmac_sha256_hex

    def spy(key, prefix, messages, length):
        seen.append(len(messages))
        return real(key, prefix, messages, length)

    monkeypatch.setattr(privacy.pseudonyms, "_hmac_sha256_hex", spy)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 500, 20_000)
    out = pseudonymize(ids, KEY)
    assert seen == [len(np.unique(ids))]
    assert out.iloc[7] == ref_pseudonym(KEY, str(ids[7]))


def test_pseudonymize_rejects_missing_key():
    with pytest.raises(PrivacyError, match="load_key"):
        pseudonymize(["1"], "")


# ------------------------------------------------------------------------- key


@pytest.fixture
def no_env_key(monkeypatch, tmp_path):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def test_key_file_created_on_first_use_then_reused(no_env_key):
    path = no_env_key / "config" / "caseload" / "pseudonym.key"
    with pytest.warns(UserWarning, match="stable across monthly extracts") as rec:
        key = load_key()
    assert str(path) in str(rec[0].message)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 64 and int(key, 16) >= 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_key() == key  # reused, no second notice
    assert key == path.read_text().strip().encode()


def test_env_key_has_priority_and_matches_file_content(no_env_key, monkeypatch):
    key_file = no_env_key / "k.key"
    key_file.write_text("  my secret key, long\n")
    key_file.chmod(0o600)
    assert load_key(key_file) == b"my secret key, long"
    monkeypatch.setenv(KEY_ENV, "my secret key, long\n")
    assert load_key(no_env_key / "does-not-exist.key") == b"my secret key, long"
    assert not (no_env_key / "does-not-exist.key").exists()


def test_key_file_inside_git_work_tree_refused(no_env_key, monkeypatch):
    repo = no_env_key / "project"
    (repo / ".git").mkdir(parents=True)
    key_file = repo / "config" / "pseudonym.key"
    with pytest.raises(PrivacyError, match="git work tree") as exc:
        load_key(key_file)
    assert "never be committed" in str(exc.value)
    assert not key_file.exists()
    monkeypatch.setenv(KEY_ENV, "from the batch environment")
    assert load_key(key_file) == b"from the batch environment"


def test_empty_key_refused_and_open_key_file_warned(no_env_key, monkeypatch):
    key_file = no_env_key / "empty.key"
    key_file.write_text("\n")
    key_file.chmod(0o600)
    with pytest.raises(PrivacyError, match="empty"):
        load_key(key_file)
    key_file.write_text("secret of 16 bytes")
    key_file.chmod(0o644)
    with pytest.warns(UserWarning, match="chmod 600"):
        assert load_key(key_file) == b"secret of 16 bytes"
    monkeypatch.setenv(KEY_ENV, "  ")
    with pytest.raises(PrivacyError, match="set but empty"):
        load_key(key_file)


# ------------------------------------------------------------------------- BSN


def test_elfproef_known_numbers_by_hand():
    # 111222333: 9+8+7+12+10+8+9+6-3 = 66 = 6*11
    assert 9 * 1 + 8 * 1 + 7 * 1 + 6 * 2 + 5 * 2 + 4 * 2 + 3 * 3 + 2 * 3 - 1 * 3 == 66
    # 123456782: 9+16+21+24+25+24+21+16-2 = 154 = 14*11
    assert 9 * 1 + 8 * 2 + 7 * 3 + 6 * 4 + 5 * 5 + 4 * 6 + 3 * 7 + 2 * 8 - 1 * 2 == 154
    # 123456789: 147 = 13*11 + 4
    assert 9 * 1 + 8 * 2 + 7 * 3 + 6 * 4 + 5 * 5 + 4 * 6 + 3 * 7 + 2 * 8 - 1 * 9 == 147
    assert is_valid_bsn("111222333") and is_valid_bsn(111222333)
    assert is_valid_bsn("123456782") and is_valid_bsn(" 123456782 ")
    assert not is_valid_bsn("123456789")
    assert not is_valid_bsn("000000000")
    assert not is_valid_bsn("1234567820")  # ten digits
    assert not is_valid_bsn("12345678x")
    assert not is_valid_bsn(None)
    # Eight digits: an export that dropped the leading zero of 012345672.
    assert ref_elfproef("012345672") and is_valid_bsn("12345672") and is_valid_bsn(12345672)


def test_looks_like_bsn_matches_reference_on_random_numbers():
    rng = np.random.default_rng(1)
    numbers = rng.integers(10_000_000, 999_999_999, 20_000)
    expected = np.array([ref_elfproef(str(n)) for n in numbers])
    assert 0.07 < expected.mean() < 0.11  # about 1 in 11 random numbers passes
    np.testing.assert_array_equal(looks_like_bsn(numbers), expected)
    np.testing.assert_array_equal(looks_like_bsn(numbers.astype(str)), expected)
    mixed = looks_like_bsn([123456782, "123456782", 123456782.0, None, "x", True, 1.5])
    assert mixed.tolist() == [True, True, True, False, False, False, False]


def test_mask_value():
    assert mask_value("123456789") == "12*****89"
    assert mask_value(123456789) == "12*****89"
    assert mask_value("12345") == "12*45"
    assert mask_value("1234") == "1234"
    assert mask_value("Assen") == "Assen"
    assert mask_value(None) == "" and mask_value(np.nan) == "" and mask_value(pd.NA) == ""


# ------------------------------------------------------------------- BSN guard


def test_check_no_bsn_catches_int_string_and_embedded():
    frames = {
        "int": pd.DataFrame({"n": [3, 12, 123456782]}),
        "string": pd.DataFrame({"n": [3, 4], "who": pd.Series(["x", "111222333"], dtype="string")}),
        "embedded": pd.DataFrame({"remark": ["ok", None, "call about x123456782 today"]}),
        "float with gaps": pd.DataFrame({"bsn_like": [np.nan, 111222333.0]}),
        "index": pd.DataFrame({"n": [1]}, index=pd.Index(["111222333"], name="who")),
        "categorical": pd.DataFrame({"c": pd.Categorical(["a", "123456782"])}),
        "written with dots": pd.DataFrame({"note": ["bsn 1234.56.782 bekend"]}),
        "written with dashes": pd.DataFrame({"note": ["(111-222-333)"]}),
    }
    for where, df in frames.items():
        with pytest.raises(PrivacyError) as exc:
            check_no_bsn(df, f"table {where}")
        text = str(exc.value)
        assert f"table {where}" in text
        assert "123456782" not in text and "111222333" not in text  # masked
        assert "*****" in text
    with pytest.raises(PrivacyError, match="row 3") as exc:
        check_no_bsn(frames["int"], "t")
    assert exc.value.column == "n"
    assert exc.value.findings["value"].tolist() == ["12*****82"]


def test_check_no_bsn_passes_clean_frames():
    check_no_bsn(pd.DataFrame({
        "gemeente": ["GM0106", "GM0168"],
        "n": [12, 40],
        "share": [0.25, 0.75],
        "invalid_9_digits": [123456789, 100000000],
        "phone": ["0612345678", "020-1234567"],  # a 10-digit run is not a BSN
        "budget": ["€ 123.456.789", "1.123.456.782"],  # amounts that are not a BSN
        "pseudonym": pseudonymize(["123456782", "5"], KEY),
        "flag": [True, False],
        "date": pd.to_datetime(["2025-01-01", "2025-12-31"]),
    }), "clean")
    # A hex token with a passing digit run inside (e.g. a sha256) is not flagged.
    check_no_bsn(pd.DataFrame({"sha": ["ab123456782cdef01234"]}), "hashes")
    # Amounts can be excluded explicitly.
    check_no_bsn(pd.DataFrame({"cents": [123456782]}), "amounts", ignore=["cents"])


def test_check_no_bsn_is_vectorised_fast():
    import time

    rng = np.random.default_rng(2)
    df = pd.DataFrame({
        "n": rng.integers(0, 1000, 300_000),
        "label": rng.choice(["Assen", "Tynaarlo", "stap 3"], 300_000),
    })
    start = time.perf_counter()
    check_no_bsn(df, "big")
    assert time.perf_counter() - start < 5


def test_check_file_no_bsn(tmp_path):
    clean = pd.DataFrame({"Gemeente": ["Assen", "Tynaarlo"], "Aantal": [120, 45]})
    clean.to_csv(tmp_path / "clean.csv", index=False)
    check_file_no_bsn(tmp_path / "clean.csv")
    bad = pd.concat([clean, pd.DataFrame({"Gemeente": ["123456782"], "Aantal": [1]})])
    bad.to_csv(tmp_path / "bad.csv", index=False, sep=";")
    with pytest.raises(PrivacyError) as exc:
        check_file_no_bsn(tmp_path / "bad.csv")
    assert exc.value.row == 4 and exc.value.value == "12*****82"
    assert "bad.csv" in str(exc.value)

    clean.to_excel(tmp_path / "clean.xlsx", index=False)
    check_file_no_bsn(tmp_path / "clean.xlsx")
    bad.to_excel(tmp_path / "bad.xlsx", index=False, sheet_name="Tabel")
    with pytest.raises(PrivacyError, match="sheet 'Tabel', cell A4"):
        check_file_no_bsn(tmp_path / "bad.xlsx")

    # json: hashes are fine, a bare number is not.
    (tmp_path / "manifest.json").write_text(json.dumps({"sha256": "ab123456782cdef0" * 4}))
    check_file_no_bsn(tmp_path / "manifest.json")
    (tmp_path / "leak.json").write_text(json.dumps({"x": 1, "client": 111222333}, indent=1))
    with pytest.raises(PrivacyError):
        check_file_no_bsn(tmp_path / "leak.json")

    # html: text is scanned, attributes (ids, base64 images) are not.
    (tmp_path / "ok.html").write_text('<p id="x123456782">Aantal: 45</p>')
    check_file_no_bsn(tmp_path / "ok.html")
    (tmp_path / "bad.html").write_text("<html>\n<p>client 123456782</p></html>")
    with pytest.raises(PrivacyError) as exc:
        check_file_no_bsn(tmp_path / "bad.html")
    assert exc.value.row == 2

    with pytest.raises(PrivacyError, match="cannot check"):
        (tmp_path / "x.docx").write_bytes(b"")
        check_file_no_bsn(tmp_path / "x.docx")


def test_check_file_no_bsn_svg_from_matplotlib(tmp_path):
    import matplotlib.pyplot as plt

    for name, title in (("ok", "Uitstroom naar werk 2025"), ("bad", "client 123456782")):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [10, 40, 25])
        ax.set_title(title)
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
        plt.close(fig)
        (tmp_path / f"{name}.svg").write_text(buf.getvalue())
    check_file_no_bsn(tmp_path / "ok.svg")
    with pytest.raises(PrivacyError):
        check_file_no_bsn(tmp_path / "bad.svg")


def test_published_table_guard():
    table = pd.DataFrame({"Trede": [1, 2], "Aantal": [30, 12]})
    assert published_table_guard(table, "ladder") is table
    for bad in (
        pd.DataFrame({"client_id": ["a"], "n": [1]}),
        pd.DataFrame({"Cliënt (pseudoniem)": ["a"], "n": [1]}),
        pd.DataFrame({"BSN": ["x"]}),
        pd.DataFrame({"clientnummer": [5]}),
        pd.DataFrame({"n": [1]}, index=pd.Index(["x"], name="dossier_id")),
    ):
        with pytest.raises(PrivacyError, match="identifier"):
            published_table_guard(bad, "t")
    with pytest.raises(PrivacyError, match="pseudonyms"):
        published_table_guard(pd.DataFrame({"wie": pseudonymize(range(5), KEY)}), "t")
    with pytest.raises(PrivacyError, match="BSN"):
        published_table_guard(pd.DataFrame({"opmerking": ["bsn 111222333"]}), "t")


# ---------------------------------------------------------------- suppression


def determined_cells(mask: np.ndarray) -> list[tuple[int, int]]:
    """Suppressed cells whose value follows from the published numbers (numpy rank).

    ``mask`` covers a table whose last row and last column are the totals; every row
    and column is a published linear relation (body cells add up to the total).
    A suppressed cell is determined iff its unit vector lies in the row space of the
    relations restricted to the suppressed cells.
    """
    nr, nc = mask.shape
    cells = list(zip(*np.nonzero(mask), strict=True))
    rel = []
    for i in range(nr):
        rel.append([(r == i) * (1 if c < nc - 1 else -1) for r, c in cells])
    for j in range(nc):
        rel.append([(c == j) * (1 if r < nr - 1 else -1) for r, c in cells])
    a = np.array(rel, dtype=float).reshape(nr + nc, len(cells))
    rank = np.linalg.matrix_rank(a) if cells else 0
    out = []
    for k, cell in enumerate(cells):
        unit = np.zeros((1, len(cells)))
        unit[0, k] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.append(cell)
    return out


def with_totals(body: np.ndarray) -> pd.DataFrame:
    m, n = body.shape
    full = np.zeros((m + 1, n + 1), dtype=int)
    full[:m, :n] = body
    full[:m, n] = body.sum(axis=1)
    full[m, :n] = body.sum(axis=0)
    full[m, n] = body.sum()
    return pd.DataFrame(full, index=[f"r{i}" for i in range(m)] + ["Totaal"],
                        columns=[f"c{j}" for j in range(n)] + ["Totaal"])


def test_primary_suppression_hand_made():
    table = pd.DataFrame({"A": [0, 1, 4], "B": [5, 12, 2]}, index=["x", "y", "z"])
    res = suppress_small_cells(table, threshold=5, secondary=False)
    expected = np.array([[False, False], [True, False], [True, True]])
    np.testing.assert_array_equal(res.primary.to_numpy(), expected)
    np.testing.assert_array_equal(res.suppressed.to_numpy(), expected)
    assert res.n_primary == 3 and res.n_secondary == 0
    assert res.table.loc["x", "A"] == 0  # a zero is shown
    assert res.table.loc["y", "B"] == 12 and np.isnan(res.table.loc["z", "B"])
    zeros = suppress_small_cells(table, threshold=5, secondary=False, suppress_zeros=True)
    assert zeros.primary.loc["x", "A"] and zeros.n_primary == 4
    assert suppress_small_cells(table, threshold=2, secondary=False).n_primary == 1
    assert "1 tot en met 4" in res.note() and "1 to 4" in res.note("en")


def test_secondary_suppression_hand_made_with_totals():
    body = np.array([[20, 3, 15], [12, 30, 9], [8, 11, 25]])
    table = with_totals(body)
    res = suppress_small_cells(table, threshold=5, row_total="Totaal", col_total="Totaal")
    s = res.suppressed
    assert s.loc["r0", "c1"] and res.primary.loc["r0", "c1"] and res.n_primary == 1
    # Row r0 and column c1 each get a second suppressed cell. By hand, the cheapest
    # rectangle through (r0, c1): complements (r0,c0)=20, (r2,c1)=11, (r2,c0)=8, total 39
    # (the alternatives cost 15+11+25=51, 15+30+9=54, 20+30+12=62); totals stay visible.
    expected = {("r0", "c1"), ("r0", "c0"), ("r2", "c1"), ("r2", "c0")}
    assert {(r, c) for r in s.index for c in s.columns if s.loc[r, c]} == expected
    assert res.n_secondary == 3
    assert not s["Totaal"].any() and not s.loc["Totaal"].any()
    assert determined_cells(s.to_numpy()) == []
    # Visible cells are unchanged.
    visible = ~s.to_numpy()
    np.testing.assert_array_equal(res.table.to_numpy()[visible], table.to_numpy()[visible])


def test_secondary_closes_bridges_not_only_lines():
    # Two separate 2x2 blocks of suppressed cells joined by one more primary cell: every
    # row and column has two suppressed cells, yet the joining cell follows from the
    # totals (it is a bridge). The method must add complements until it does not.
    body = np.full((4, 4), 50)
    for cell in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]:
        body[cell] = 2
    table = with_totals(body)
    res = suppress_small_cells(table, row_total="Totaal", col_total="Totaal")
    assert determined_cells(res.primary.to_numpy()) == [(1, 2)]
    assert determined_cells(res.suppressed.to_numpy()) == []
    assert res.n_secondary >= 1


def test_suppressed_total_is_protected():
    body = np.array([[1, 2, 0], [30, 12, 9], [8, 11, 25]])  # row total 3 is itself small
    res = suppress_small_cells(with_totals(body), row_total="Totaal", col_total="Totaal")
    assert res.primary.loc["r0", "Totaal"]
    assert determined_cells(res.suppressed.to_numpy()) == []


def test_table_without_totals_assumes_totals_known():
    one_row = pd.DataFrame([[20, 3, 15, 40]], columns=list("abcd"))
    res = suppress_small_cells(one_row)
    assert res.suppressed.to_numpy().sum() == 2 and res.suppressed.loc[0, "c"]
    grid = pd.DataFrame(np.array([[20, 3], [12, 30]]))
    assert suppress_small_cells(grid).suppressed.to_numpy().all()


def test_bad_input_is_reported():
    with pytest.raises(CaseloadError, match="non-negative"):
        suppress_small_cells(pd.DataFrame({"a": [1, -2]}))
    with pytest.raises(CaseloadError, match="non-negative"):
        suppress_small_cells(pd.DataFrame({"a": [1, np.nan]}))
    with pytest.raises(CaseloadError, match="row_total"):
        suppress_small_cells(pd.DataFrame({"a": [1, 2]}), row_total="Totaal")
    with pytest.raises(CaseloadError, match="exactly one column"):
        suppress_small_cells(pd.DataFrame([[1, 2, 3]], columns=["a", "T", "T"]), col_total="T")


@st.composite
def small_tables(draw):
    m = draw(st.integers(2, 5))
    n = draw(st.integers(2, 5))
    cells = st.one_of(st.integers(0, 6), st.integers(0, 60))
    body = np.array(draw(st.lists(cells, min_size=m * n, max_size=m * n))).reshape(m, n)
    return body


@settings(max_examples=150, deadline=None)
@given(body=small_tables(), threshold=st.sampled_from([3, 5, 10]))
def test_no_suppressed_cell_alone_or_recoverable(body, threshold):
    table = with_totals(body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a table with totals can always be protected
        res = suppress_small_cells(table, threshold, row_total="Totaal", col_total="Totaal")
    s = res.suppressed.to_numpy()
    values = table.to_numpy()
    np.testing.assert_array_equal(res.primary.to_numpy(), (values > 0) & (values < threshold))
    assert (s | ~res.primary.to_numpy()).all()
    for line in [*s, *s.T]:  # every row and column, totals included
        assert line.sum() != 1
    assert determined_cells(s) == []


def test_suppress_percentages():
    counts = pd.DataFrame({"werk": [30, 2, 12], "geen": [70, 8, 3]}, index=["a", "b", "c"])
    base = counts.sum(axis=1)
    pct = counts.div(base, axis=0) * 100
    out = suppress_percentages(pct, base)
    # b/werk implies 2 people, c/geen 3: blanked; the others are shown.
    assert out.isna().to_numpy().tolist() == [[False, False], [True, False], [False, True]]
    # With the count table's suppression mask the complements are blanked as well.
    res = suppress_small_cells(counts)
    masked = suppress_percentages(pct, base, suppressed=res)
    assert masked.isna().to_numpy().tolist() == res.suppressed.to_numpy().tolist()
    assert masked.loc["a", "werk"] == 30
    # Small bases blank everything computed on them.
    share = pd.Series([0.5, 0.25, 0.6], index=["x", "y", "z"])
    n = pd.Series([4, 40, 50], index=["x", "y", "z"])
    assert suppress_percentages(share, n, scale=1).isna().tolist() == [True, False, False]
    assert suppress_percentages(share, n.mask(n == 50), scale=1).isna().tolist() == [True, False, True]
    square = pd.DataFrame([[50.0, 50.0], [50.0, 50.0]], index=["p", "q"], columns=["p", "q"])
    with pytest.raises(CaseloadError, match="axis"):
        suppress_percentages(square, pd.Series([10, 10], index=["p", "q"]))
    by_column = suppress_percentages(square, pd.Series([2, 10], index=["p", "q"]), axis="columns")
    assert by_column["p"].isna().all() and by_column["q"].notna().all()


def test_suppress_long_one_grouping():
    df = pd.DataFrame({
        "gemeente": ["A"] * 3 + ["B"] * 3 + ["C"],
        "sector": ["zorg", "bouw", "ict"] * 2 + ["zorg"],
        "n": [10, 2, 30, 8, 9, 40, 3],
    })
    with pytest.warns(UserWarning, match="only row of their group"):
        res = suppress_long(df, "n", by="gemeente")
    assert res.suppressed.tolist() == [True, True, False, False, False, False, True]
    assert res.unprotected == [6]
    assert res.table["n"].isna().tolist() == res.suppressed.tolist()
    for _, group in res.suppressed.groupby(df["gemeente"]):
        assert group.sum() != 1 or len(group) == 1
    # Grand total only: the two small cells protect each other.
    whole = suppress_long(df, "n")
    assert whole.n_primary == 2 and whole.n_secondary == 0


def test_suppress_long_two_groupings_equals_two_way_table():
    rng = np.random.default_rng(3)
    grid = pd.DataFrame(rng.choice([1, 2, 3, 6, 9, 15, 30], size=(5, 4)),
                        index=list("vwxyz"), columns=list("abcd"))
    long = grid.rename_axis(index="row", columns="col").stack().rename("n").reset_index()
    res_long = suppress_long(long, "n", by=[["row"], ["col"]])
    res_wide = suppress_small_cells(grid)
    wide_from_long = res_long.suppressed.set_axis(
        pd.MultiIndex.from_frame(long[["row", "col"]])).unstack()
    np.testing.assert_array_equal(wide_from_long.to_numpy(), res_wide.suppressed.to_numpy())
    # Three groupings: the line rule holds for every group of every grouping.
    long["half"] = np.where(long["row"] < "x", "first", "second")
    res3 = suppress_long(long, "n", by=[["row"], ["col"], ["half"]])
    for cols in (["row"], ["col"], ["half"]):
        per_group = res3.suppressed.groupby([long[c] for c in cols]).sum()
        assert (per_group != 1).all()



def test_plus_sign_and_leading_zeros_are_the_same_number():
    key = b"k"
    p = pseudonymize(["+0123", "123", 123, "-05", -5], key)
    assert p.iloc[0] == p.iloc[1] == p.iloc[2]
    assert p.iloc[3] == p.iloc[4] != p.iloc[0]


def test_a_short_key_is_refused_with_the_fix(monkeypatch, tmp_path):
    from caseload.privacy import MIN_KEY_BYTES

    monkeypatch.setenv(KEY_ENV, "x" * (MIN_KEY_BYTES - 1))
    with pytest.raises(PrivacyError, match=f"{MIN_KEY_BYTES - 1} bytes.*at least {MIN_KEY_BYTES}") as err:
        load_key()
    assert "secrets.token_hex" in str(err.value)
    monkeypatch.setenv(KEY_ENV, "x" * MIN_KEY_BYTES)
    assert load_key() == b"x" * MIN_KEY_BYTES
    monkeypatch.delenv(KEY_ENV)
    f = tmp_path / "k.key"
    f.write_text("a\n")
    f.chmod(0o600)
    with pytest.raises(PrivacyError, match="key file holds a key of 1 bytes"):
        load_key(f)

# ------------------------------------------------- issue 11: the BSN guard, right both ways

_SEPARATORS = (" ", ".", "-", "\u00a0")
_SENTENCES = ("BSN {} van de klant", "bsn:{}", "({})", "klant {}, zie dossier", "nummer {}.",
              "{}", "Ref.{};", "gebeld over {} vandaag")


def _valid_bsns(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        cand = rng.integers(1, 999_999_999, 4 * n)
        out += [f"{c:09d}" for c in cand if ref_elfproef(f"{c:09d}")]  # the reference
    return out[:n]


def _written_forms(bsn: str) -> list[str]:
    """Every way the brief names: plain, 3-3-3 and 4-2-3 with space, dot, dash (and no-break
    space); a BSN with a leading zero also as the 8 digits an export leaves."""
    forms = [bsn]
    for sep in _SEPARATORS:
        forms.append(sep.join((bsn[:3], bsn[3:6], bsn[6:])))
        forms.append(sep.join((bsn[:4], bsn[4:6], bsn[6:])))
    if bsn.startswith("0"):
        forms.append(bsn[1:])
    return forms


def test_every_written_form_of_1000_bsns_in_free_text_is_caught(tmp_path):
    """Measured: 1,000 random valid BSNs x 9 written forms (+8-digit) in free text: all caught."""
    from caseload.privacy.bsn import _text_hits

    bsns = _valid_bsns(1000, seed=11)
    assert all(ref_elfproef(b) for b in bsns) and len(set(bsns)) == 1000
    # Make sure the leading-zero form is exercised.
    bsns[:20] = [b for b in _valid_bsns(20_000, seed=12) if b.startswith("0")][:20]
    texts = [_SENTENCES[i % len(_SENTENCES)].format(form)
             for i, b in enumerate(bsns) for form in _written_forms(b)]
    assert len(texts) >= 9 * 1000 + 20
    pos, hits = _text_hits(pd.Series(texts, dtype=object))
    caught = np.zeros(len(texts), dtype=bool)
    caught[pos] = True
    missed = [t for t, c in zip(texts, caught, strict=True) if not c]
    assert missed == [], f"{len(missed)} of {len(texts)} missed, e.g. {missed[:5]}"
    # The hit is the BSN itself (joined), and the error shows it masked.
    assert hits[0] == bsns[0]
    # The same forms in each published file type: CSV, HTML, XLSX.
    for form in _written_forms("111222333")[1:]:
        df = pd.DataFrame({"reden": ["geen", f"klant {form} belde"], "n": [5, 6]})
        with pytest.raises(PrivacyError):
            check_no_bsn(df, "tabel")
        df.to_csv(tmp_path / "t.csv", index=False)
        (tmp_path / "t.html").write_text(f"<html><td>klant {form} belde</td></html>",
                                         encoding="utf-8")
        df.to_excel(tmp_path / "t.xlsx", index=False)
        for suffix in ("csv", "html", "xlsx"):
            with pytest.raises(PrivacyError, match="11-test"):
                check_file_no_bsn(tmp_path / f"t.{suffix}")


def test_longer_grouped_numbers_and_dates_are_not_a_bsn():
    check_no_bsn(pd.DataFrame({"t": [
        "1.123.456.782", "123 456 782 000", "31-12-2025", "06 123 456 78", "020 123 4567",
        "NL91 ABNA 0417 1643 00", "€ 12.345.678,00 in 2025",
    ]}), "clean")


def test_no_false_alarm_on_10000_metadata_numbers_in_a_manifest(tmp_path):
    """Measured: 10,000 random 8- and 9-digit sizes, counts and times in a manifest: 0 alarms,
    although about one in eleven of them passes the 11-test."""
    from caseload.privacy.bsn import MANIFEST_KIND, check_manifest_no_bsn

    rng = np.random.default_rng(7)
    numbers = np.concatenate([rng.integers(10_000_000, 100_000_000, 5000),
                              rng.integers(100_000_000, 1_000_000_000, 5000)])
    passing = looks_like_bsn(numbers)
    assert 0.07 < passing.mean() < 0.11  # these would all be alarms if numbers were checked
    manifest = {
        "kind": MANIFEST_KIND, "title": "Bestandsanalyse 2025",
        "inputs": [{"path": f"/data/extract_{i}.csv", "bytes": int(b),
                    "sha256": "ab123456782cdef0" * 4} for i, b in enumerate(numbers[:2500])],
        "steps": [{"name": "validate", "rows": int(r), "seconds": float(r) / 1e6}
                  for r in numbers[2500:5000]],
        "tables": [{"name": f"t{i}", "rows": int(r), "suppressed": {"primary": int(r)}}
                   for i, r in enumerate(numbers[5000:7500])],
        "timings": {f"t{i}": int(r) for i, r in enumerate(numbers[7500:])},
        "config": {"capacity": {"budget": 111222333}},
    }
    check_manifest_no_bsn(manifest)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    check_file_no_bsn(tmp_path / "manifest.json")
    # The byte size of the 50,000-client extract that stopped every refresh.
    assert is_valid_bsn(81900429)
    check_manifest_no_bsn({"kind": MANIFEST_KIND, "inputs": [{"bytes": 81900429}]})
    # Texts in the manifest come from the data and the user: they are checked.
    for leak in ({"title": "klant 111 222 333"}, {"inputs": [{"path": "/d/111222333.csv"}]},
                 {"tables": [{"columns": ["1234.56.782"]}]}, {"config": {"x": {"111-222-333": 1}}}):
        with pytest.raises(PrivacyError, match="BSN") as exc:
            check_manifest_no_bsn({"kind": MANIFEST_KIND, **leak})
        assert "111222333" not in str(exc.value) and "123456782" not in str(exc.value)
    # A JSON file that is not a manifest is checked whole, numbers included.
    (tmp_path / "other.json").write_text(json.dumps({"bytes": 81900429}), encoding="utf-8")
    with pytest.raises(PrivacyError):
        check_file_no_bsn(tmp_path / "other.json")


def test_rejected_row_message_does_not_give_back_a_masked_value(tmp_path):
    """'birth year 11*****33 gives an age of -111220308' let the masked number be computed."""
    from caseload.extract import read_extract

    header = ("Dossiernr;Clientnummer;geboortejaar;geslacht;Startdatum periodiek algemeen;"
              "Einddatum periodiek algemeen;Oorspronkelijke begindatum uitkeringsdossier;"
              "Omschrijving leefvorm;Oorzaak bijstandsafhankelijkheid;"
              "Omschrijving einde bijstandsafhankelijkheid;Gemeentecode")
    rows = ["D1;1001;111222333;M;01-01-2020;31-01-2020;01-01-2020;Alleenstaande;11;;GM0168",
            "D2;1002;1890;M;01-01-2020;31-01-2020;01-01-2020;Alleenstaande;11;;GM0168"]
    path = tmp_path / "u.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    cs = read_extract([path], mapping="gws", peildatum="2025-12-31")
    rej = cs.rejected.set_index("row")
    masked, plain = rej.loc[2], rej.loc[3]
    assert masked["reason"] == "impossible_age" and masked["value"] == "11*****33"
    message = masked["message"]
    assert "11*****33" in message and not re.search(r"\d{4,}", message.replace("11*****33", ""))
    assert str(2025 - 111222333) not in message
    # An unmasked value keeps its useful detail.
    assert "135" in plain["message"]


def test_key_fingerprint_is_a_keyed_hash_of_a_fixed_text_not_of_the_key():
    import hashlib
    import hmac

    from caseload.privacy import key_fingerprint

    key = b"a pseudonym key of 32 bytes here"
    fp = key_fingerprint(key)
    import base64

    digest = hmac.new(key, b"caseload pseudonym key fingerprint v1", "sha256").digest()
    assert fp == base64.b32encode(digest[:10]).decode().lower() and len(fp) == 16
    assert fp != key_fingerprint(key + b"!")
    plain = base64.b32encode(hashlib.sha256(key).digest()[:10]).decode().lower()
    assert fp != plain and fp.upper() not in base64.b32encode(key).decode()  # neither the key nor its hash

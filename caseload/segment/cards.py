"""Model files: skops (never pickle) plus a JSON card that must match.

:func:`save_model` writes ``<name>.skops`` and ``<name>.card.json``. The skops file
holds the fitted scikit-learn estimator and the settings needed to score
(features, training medians, cut-offs, method). The card holds what a reader,
an auditor or the Dutch Algoritmeregister needs: training data hash, period,
features, metrics, fairness summary, cut-offs, time of fit, package versions,
purpose, data, human intervention and risks.

:func:`load_model` refuses a file when

- the card's ``sha256`` is not the hash of the skops file (file swapped or edited),
- the skops file holds a type outside the explicit allow-list (skops'
  ``get_untrusted_types``), or
- a scoring setting in the card (features, cut-offs, method, medians, spline knots, data hash,
  time of fit) differs from the copy inside the skops file (card edited).

This detects accidental and naive tampering; it is not a signature: someone who
edits both files and recomputes the hash is not stopped. Keep ``models/`` under
version control.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from caseload.errors import ModelCardError

__all__ = ["save_model", "load_model", "ALLOWED_TYPES", "CARD_SCHEMA", "model_card", "model_card_page",
           "MUNICIPALITY_FIELDS"]

CARD_SCHEMA = "caseload-model-card/2"
_SCHEMAS = ("caseload-model-card/1", CARD_SCHEMA)  # version 1 cards (no page) still load

ALLOWED_TYPES = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
"""Types beyond skops' default trusted set that a caseload model may contain."""

_CHECKED = ("method", "calibration", "cutoffs", "features", "proxy_features", "medians", "knots",
            "data_sha256", "fitted_at")

ALGORITMEREGISTER = {
    "naam": "Segmentatie uitkeringsbestand (A/B/C, statistisch model)",
    "doel": ("Beslisondersteuning: een geschatte kans op uitstroom naar werk binnen zes maanden "
             "helpt consulenten bepalen wie als eerste bemiddeling krijgt (A direct bemiddelbaar, "
             "B binnen 3-6 maanden, C nog niet bemiddelbaar). Het model beslist niet over recht "
             "op een uitkering of over handhaving."),
    "impact": ("De groep bepaalt welk aanbod een cliënt het eerst krijgt (bemiddeling, werkfit-traject, "
               "activering). Een cliënt die ten onrechte in C staat, krijgt later hulp (gemiste kans); "
               "ten onrechte in A leidt tot bemiddeling die niet past."),
    "gegevens": ("Diagnose (trede participatieladder, werkfit, belemmeringen, competentiescores), "
                 "leefvorm, trede en werkfit van de partner, leeftijd en lopende duur van de uitkering, "
                 "elk zoals bekend op de diagnosedatum. Geslacht, migratieachtergrond "
                 "en statushouderschap zijn geen kenmerk van het model; ze worden alleen gebruikt "
                 "voor de toets op gelijke behandeling. Proxies voor etniciteit (taal, "
                 "nationaliteit, wijk) alleen na een expliciete keuze in de configuratie."),
    "proxies_overwogen": ("Taalbelemmering (hangt samen met migratieachtergrond; alleen na expliciete keuze, "
                          "segment.proxy_features), nationaliteit, postcode en wijk (nooit standaard), "
                          "leefvorm alleenstaande ouder (hangt samen met geslacht; wel in het model, de "
                          "fairness-toets per geslacht laat het effect zien). Opleiding en nieuwe doelgroep "
                          "staan niet in het model: ze zijn niet gedateerd."),
    "menselijke_tussenkomst": ("Elke indeling heeft een leesbare reden; de consulent kan de groep "
                               "overschrijven met een vastgelegde reden en datum. Overschrijvingen "
                               "gaan voor, verlopen bij een nieuwe diagnose en het aandeel per groep "
                               "staat in het rapport. Een diagnose ouder dan twaalf maanden of van voor de "
                               "huidige uitkering geeft 'herbeoordelen' in plaats van een groep."),
    "risicobeheer": ("Ongelijke behandeling van groepen: de fairness-toets per geslacht, leeftijd, "
                     "migratieachtergrond, statushouderschap en geslacht x leeftijd (gemiste kansen, "
                     "onterecht A, kans op werk binnen kansklassen, met intervallen) bij elke run en in "
                     "deze kaart; self-fulfilling prophecy als groep C minder hulp krijgt; verouderd model "
                     "als de arbeidsmarkt verandert."),
    "monitoringsplan": ("Bij elke maandelijkse run: de fairness-tabellen en de afkappunten-tabel van het "
                        "rapport; een signaal dat niet door basiskansen verklaard wordt, gaat naar de "
                        "eigenaar en de functionaris gegevensbescherming. Jaarlijks (en bij een AUC op de "
                        "hold-out die meer dan 0,05 daalt): hertrainen, kaart en IAMA bijwerken."),
    "wettelijke_basis": "Participatiewet, artikel 7 (taak arbeidsinschakeling).",
    "status": "Beslisondersteuning, niet geautomatiseerde besluitvorming (AVG art. 22).",
}
"""Algoritmeregister texts the model card fills in. The fields that only a
municipality can give (organisation, contact, owner, IAMA and DPIA references,
link) come from ``extra`` in :func:`save_model`; a card without them lists them
under ``algoritmeregister.ontbreekt`` (missing) and the page says so."""

MUNICIPALITY_FIELDS = ("organisatie", "contact", "eigenaar", "iama", "dpia", "link")
"""Register fields a municipality must supply (``extra={"algoritmeregister": {...}}``)."""

MODEL_CARD = {
    "beoogd_gebruik": ("Beslisondersteuning bij het indelen van het bijstandsbestand in A/B/C, zodat "
                       "consulenten en teamleiders bemiddeling en trajecten plannen."),
    "beoogde_gebruikers": "Consulenten werk en inkomen, teamleiders, beleidsmedewerkers van de gemeente.",
    "buiten_bereik": ("Besluiten over recht op of hoogte van een uitkering, handhaving of fraude-opsporing, "
                      "sancties, en elk gebruik zonder menselijke beoordeling per cliënt. Niet voor "
                      "cliënten van een andere gemeente dan waarvoor het model is getraind zonder "
                      "nieuwe toetsing."),
    "factoren": ("Geslacht, leeftijdsgroep (15-26, 27-44, 45-64), migratieachtergrond, statushouder en "
                 "geslacht x leeftijdsgroep: de groepen van de fairness-toets."),
    "ethische_overwegingen": ("Profilering van uitkeringsgerechtigden is in Nederland en Oostenrijk gestopt "
                              "toen niet kon worden aangetoond dat groepen gelijk behandeld werden. Deze "
                              "kaart toont daarom de foutkansen per groep met intervallen, en de consulent "
                              "houdt het laatste woord."),
    "kanttekeningen": ("Het voorbeeldmodel is getraind op synthetische gegevens en mag niet voor echte "
                       "cliënten worden gebruikt. Een model is zo goed als de diagnoses: verouderde of "
                       "onvolledige diagnoses geven een onbetrouwbare kans. De kans is een gemiddelde over "
                       "vergelijkbare cliënten, geen voorspelling voor één persoon. Met vaste afkappunten "
                       "(AMS: A vanaf 0,66, C onder 0,25) valt bij een horizon van zes maanden bijna "
                       "iedereen in C; kies capaciteits- of kwantielafkappunten (segment.cutoffs)."),
}
"""Model-card sections (Mitchell et al. 2019) that do not come from the data."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _meta(model) -> dict:
    return {
        "method": model.method,
        "calibration": model.calibration_,
        "cutoffs": [float(c) for c in model.cutoffs],
        "features": list(model.features_),
        "proxy_features": list(model.proxy_features),
        "medians": {k: float(v) for k, v in model.medians_.items()},
        "knots": {k: [float(x) for x in v] for k, v in getattr(model, "knots_", {}).items()},
        "data_sha256": model.training_["data_sha256"],
        "fitted_at": model.training_["fitted_at"],
    }


def _data_sources(features) -> list[dict]:
    """Every feature with its Dutch label and its source (table, dated or not)."""
    from caseload.segment.model import FEATURE_LABELS

    def source(f: str) -> str:
        if f.startswith(("partner",)):
            return "diagnose van de partner (laatste op of voor de diagnosedatum)"
        if f.startswith("household"):
            return "uitkeringsperiode (leefvorm, gedateerd)"
        if f.startswith(("age_", "years_over")):
            return "geboortejaar (cliënten) en diagnosedatum"
        if f == "duration_years_age_27_plus":
            return "uitkeringsperiode (startdatum), geboortejaar (cliënten) en diagnosedatum"
        if f.startswith(("duration_years", "duration_rcs")):
            return "uitkeringsperiode (startdatum) en diagnosedatum"
        if f.startswith("education") or f == "new_target_group":
            return "cliëntenbestand (NIET gedateerd: kan lekken)"
        return "diagnose (op de diagnosedatum)"

    return [{"kenmerk": f, "omschrijving": FEATURE_LABELS.get(f, (f, f))[0], "bron": source(f)}
            for f in features]


def model_card(model, name: str, sha256: str, extra: dict | None = None) -> dict:
    """The JSON card of a fitted :class:`SegmentModel` (``sha256`` of its skops file).

    Holds the scoring settings (checked by :func:`load_model`), the training data,
    the hold-out metrics with their intervals, the cut-off method and table, the
    fairness results for every group and pair, the Algoritmeregister fields and the
    model-card sections of Mitchell et al. (2019). ``extra`` may hold
    ``{"algoritmeregister": {"organisatie": ..., "contact": ..., "eigenaar": ...,
    "iama": ..., "dpia": ..., "link": ...}}`` and any other fields.
    """
    import sklearn
    import skops

    from caseload import __version__

    extra = dict(extra or {})
    register = {**ALGORITMEREGISTER, **extra.pop("algoritmeregister", {})}
    register["gegevensbronnen"] = _data_sources(model.features_)
    register["ontbreekt"] = [k for k in MUNICIPALITY_FIELDS if not register.get(k)]
    cut_table = getattr(model, "cutoff_table_", None)
    card = {
        "schema": CARD_SCHEMA,
        "name": name,
        "file": f"{name}.skops",
        "sha256": sha256,
        **_meta(model),
        "random_state": model.random_state,
        "training": {k: v for k, v in model.training_.items() if k not in ("data_sha256", "fitted_at")},
        "metrics": getattr(model, "metrics_", None),
        "fairness_summary": getattr(model, "fairness_summary_", None),
        "versions": {"caseload": __version__, "scikit-learn": sklearn.__version__,
                     "skops": skops.__version__, "numpy": np.__version__},
        "metric_intervals": getattr(model, "metric_intervals_", None),
        "cutoff_method": getattr(model, "cutoff_method_", None),
        "cutoff_table": (None if cut_table is None else
                         cut_table.round(4).astype(object).where(cut_table.notna(), None).to_dict("records")),
        "algoritmeregister": register,
        "model_card": {**MODEL_CARD,
                       "metrieken": ("ROC AUC (interval: Hanley en McNeil), Brier-score, log loss, aandeel en "
                                     "uitstroom per groep (Wilson-intervallen) op een hold-out in de tijd; "
                                     "foutkansen per groep: zie fairness_summary."),
                       "evaluatiegegevens": "De laatste diagnoses (hold-out in de tijd), zie metrics.holdout_period.",
                       "trainingsgegevens": "Diagnoses voor de hold-out-datum, zie training."},
    }
    card.update(extra)
    return card


def save_model(model, path, extra: dict | None = None) -> tuple[Path, Path]:
    """Write a fitted model as ``<path>.skops`` and ``<path>.card.json``.

    Parameters
    ----------
    model : SegmentModel
        Fitted.
    path : path-like
        ``models/segment_logistic`` or ``models/segment_logistic.skops``.
    extra : dict, optional
        More card fields (e.g. the source of the training data).

    Returns
    -------
    (Path, Path)
        The skops file and the card.
    """
    import skops.io as sio

    model._check()
    path = Path(path)
    stem = path.with_suffix("") if path.suffix == ".skops" else path
    stem.parent.mkdir(parents=True, exist_ok=True)
    skops_path = stem.with_suffix(".skops")
    card_path = stem.parent / f"{stem.name}.card.json"
    sio.dump({"estimator": model.estimator_, "meta": _meta(model)}, skops_path)
    card = model_card(model, stem.name, _sha256(skops_path), extra)
    page_path = stem.parent / f"{stem.name}.card.md"
    page = model_card_page(card)
    page_path.write_text(page, encoding="utf-8")
    card["page"] = page_path.name
    card["page_sha256"] = _sha256(page_path)
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False, default=_json_default) + "\n",
                         encoding="utf-8")
    return skops_path, card_path


def _fmt(v, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, bool):
        return "ja" if v else "nee"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}".replace(",", ".")
    if isinstance(v, float):
        return (f"{v * 100:.1f}%" if pct else f"{v:.3f}").replace(".", ",")
    return str(v)


def model_card_page(card: dict) -> str:
    """The model card as a readable Dutch page (Markdown), from the JSON card."""
    reg = card.get("algoritmeregister", {})
    mc = card.get("model_card", {})
    m = card.get("metrics") or {}
    mi = card.get("metric_intervals") or {}
    fs = card.get("fairness_summary") or {}
    lines = [f"# Modelkaart: {reg.get('naam', card.get('name'))}", "",
             f"Bestand `{card.get('file')}` (sha256 `{str(card.get('sha256'))[:16]}...`), getraind op "
             f"{card.get('fitted_at')}, methode {card.get('method')}. Deze pagina is gemaakt uit "
             f"`{card.get('name')}.card.json`; `load_model` weigert het model als een van beide is gewijzigd.", ""]
    if reg.get("ontbreekt"):
        lines += [f"**Nog in te vullen door de gemeente:** {', '.join(reg['ontbreekt'])} "
                  "(`save_model(..., extra={'algoritmeregister': {...}})`).", ""]
    lines += ["## Algoritmeregister", "", "| veld | inhoud |", "|---|---|"]
    for k in ("naam", "organisatie", "contact", "eigenaar", "doel", "impact", "wettelijke_basis",
              "menselijke_tussenkomst", "risicobeheer", "proxies_overwogen", "iama", "dpia",
              "monitoringsplan", "link", "status"):
        lines.append(f"| {k.replace('_', ' ')} | {reg.get(k) or '*niet ingevuld*'} |")
    lines += ["", "### Gegevensbronnen: elk kenmerk van het model", "", "| kenmerk | omschrijving | bron |",
              "|---|---|---|"]
    lines += [f"| `{d['kenmerk']}` | {d['omschrijving']} | {d['bron']} |" for d in reg.get("gegevensbronnen", [])]
    lines += ["", "## Modelkaart (Mitchell e.a. 2019)", ""]
    for k in ("beoogd_gebruik", "beoogde_gebruikers", "buiten_bereik", "factoren", "metrieken",
              "evaluatiegegevens", "trainingsgegevens", "ethische_overwegingen", "kanttekeningen"):
        lines += [f"**{k.replace('_', ' ').capitalize()}.** {mc.get(k, '-')}", ""]
    tr = card.get("training") or {}
    lines += ["## Training en evaluatie", "",
              f"Training: {_fmt(tr.get('n'))} diagnoses, {_fmt(tr.get('events'))} keer werk binnen zes maanden, "
              f"periode {' tot '.join(map(str, tr.get('period') or []))}. Hold-out: {_fmt(m.get('n'))} diagnoses, "
              f"periode {' tot '.join(map(str, m.get('holdout_period') or []))}.", "",
              "| maat | waarde | 95%-interval |", "|---|---|---|"]
    for k, label in (("roc_auc", "ROC AUC"), ("roc_auc_true", "ROC AUC van de ware kans (synthetisch)"),
                     ("brier", "Brier-score"), ("observed_rate", "Waargenomen uitstroom"),
                     ("mean_p", "Gemiddelde voorspelde kans")):
        if k in m:
            ci = mi.get(k)
            lines.append(f"| {label} | {_fmt(m[k])} | {_fmt(ci[0]) + ' - ' + _fmt(ci[1]) if ci else '-'} |")
    cm = card.get("cutoff_method") or {}
    lines += ["", "## Afkappunten en groepen", "",
              f"Methode: {cm.get('method', 'vast')}; C onder {_fmt(card.get('cutoffs', [None, None])[0])}, "
              f"A vanaf {_fmt(card.get('cutoffs', [None, None])[1])}"
              + (f"; B = de {cm['b_capacity']} cliënten met de hoogste kans onder A" if cm.get("b_capacity") else "")
              + ".", "", "| groep | aantal | aandeel | uitstroom naar werk | interval | precisie |",
              "|---|---|---|---|---|---|"]
    for r in card.get("cutoff_table") or []:
        lines.append(f"| {r['segment']} | {_fmt(r['n'])} | {_fmt(r['share'], True)} | {_fmt(r['work_rate'], True)} "
                     f"| {_fmt(r['work_rate_lo'], True)} - {_fmt(r['work_rate_hi'], True)} | {_fmt(r['precision'], True)} |")
    lines += ["", "## Resultaten per groep (alle groepen)", "", _fairness_data_sentence(fs), "",
              "Gemiste kansen: van wie werk vond, het aandeel in C. Onterecht A: van wie geen werk vond, het "
              "aandeel in A. Intervallen: 95% Wilson.", "",
              "| kenmerk | groep | n | aandeel C | uitstroom | gemiste kansen (interval) | onterecht A (interval) "
              "| binnen kansklassen w/v |", "|---|---|---|---|---|---|---|---|"]
    # Dutch names of the attributes (the ratios carry them), not their codes.
    names = {r["group"]: r.get("group_label", r["group"]) for r in fs.get("ratios") or []}
    for r in fs.get("levels") or []:
        lines.append(f"| {names.get(r['group'], r['group'])} | {r['level']} | {_fmt(r['n'])} | {_fmt(r['share_C'], True)} "
                     f"| {_fmt(r['work_rate'], True)} | {_fmt(r['missed'], True)} ({_fmt(r['missed_lo'], True)} - "
                     f"{_fmt(r['missed_hi'], True)}) | {_fmt(r['wrong_A'], True)} ({_fmt(r['wrong_A_lo'], True)} - "
                     f"{_fmt(r['wrong_A_hi'], True)}) | {_fmt(r['band_ratio'])} |")
    lines += ["", f"### Grootste verhouding per kenmerk (signaal boven {_fmt(fs.get('ratio'))} met interval zonder 1)",
              "", "Niet verklaard is een signaal alleen als het ook na Holm-correctie over alle toetsen van het "
              "rapport significant is (kolom p, gecorrigeerd).",
              "", "| kenmerk | maat | hoog / laag | verhouding (interval) | verklaard door basiskans | p (Holm) | duiding |",
              "|---|---|---|---|---|---|---|"]
    for r in fs.get("ratios") or []:
        lines.append(f"| {r.get('group_label', r['group'])} | {r.get('metric_label', r['metric'])} | {r['level_high']} / {r['level_low']} | {_fmt(r['ratio'])} "
                     f"({_fmt(r['ratio_lo'])} - {_fmt(r['ratio_hi'])}) | {_fmt(r['expected_ratio'])} | "
                     f"{_fmt(r.get('p_adjusted'))} | {r['explanation']} |")
    lines.append("")
    return "\n".join(lines)


def _fairness_data_sentence(fs: dict) -> str:
    """Which data the fairness results were computed on (Dutch)."""
    n = f" ({_fmt(fs['n_data'])} diagnoses)" if fs.get("n_data") is not None else ""
    if fs.get("data") == "crossfit":
        return (f"Berekend op alle diagnoses met een afgesloten periode van zes maanden{n}, elk met de kans uit "
                "een model met dezelfde specificatie dat zonder die diagnose is geschat (5-voudige "
                "kruisvalidatie, folds per dossier: diagnoses van een dossier, of van een cliënt, nooit in twee "
                "folds), ingedeeld met de afkappunten van dit model. De maten hierboven gaan over de hold-out.")
    return f"Berekend op de hold-out{n}, met de kansen van dit model."


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def load_model(path):
    """Load a model saved by :func:`save_model`, after checking it against its card.

    Raises
    ------
    ModelCardError
        When the card is missing or unreadable, the hash differs, the file holds
        a type outside :data:`ALLOWED_TYPES` and skops' trusted set, or a scoring
        setting in the card differs from the file.
    """
    import skops.io as sio

    from caseload.segment.model import SegmentModel

    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".skops", ".json") else path
    if stem.name.endswith(".card"):
        stem = stem.with_name(stem.name[: -len(".card")])
    skops_path = stem.with_suffix(".skops")
    card_path = stem.parent / f"{stem.name}.card.json"
    for p in (skops_path, card_path):
        if not p.is_file():
            raise ModelCardError("model file or card not found.", file=p,
                                 fix="Save models with caseload.segment.save_model (writes both files).")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelCardError(f"the card is not valid JSON ({exc}).", file=card_path,
                             fix="Restore the card from version control or refit the model.") from exc
    if card.get("schema") not in _SCHEMAS:
        raise ModelCardError(f"unknown card schema {card.get('schema')!r}.", file=card_path,
                             fix=f"Expected {CARD_SCHEMA!r}; refit and save with this version.")
    if card.get("page_sha256"):
        page_path = stem.parent / card.get("page", f"{stem.name}.card.md")
        if not page_path.is_file() or _sha256(page_path) != card["page_sha256"]:
            raise ModelCardError("the readable model card (Markdown) is missing or changed.", file=page_path,
                                 fix="Restore it from version control or refit and save the model.")
    digest = _sha256(skops_path)
    if card.get("sha256") != digest:
        raise ModelCardError("the model file does not match the sha256 in its card (file changed "
                             "or swapped).", file=skops_path, value=digest[:16],
                             fix="Restore both files from version control or refit the model.")
    untrusted = sio.get_untrusted_types(file=skops_path)
    unknown = sorted(set(untrusted) - set(ALLOWED_TYPES))
    if unknown:
        raise ModelCardError(f"the model file contains types outside the allow-list: {unknown}.",
                             file=skops_path, fix="Do not load files from unknown sources; refit the model.")
    obj = sio.load(skops_path, trusted=list(untrusted))
    meta = obj.get("meta", {}) if isinstance(obj, dict) else {}
    diff = [k for k in _CHECKED if _norm(card.get(k)) != _norm(meta.get(k))]
    if diff:
        raise ModelCardError(f"the card does not match the model file in {diff}.", file=card_path,
                             fix="The card was edited; restore it from version control or refit.")
    model = SegmentModel(method=meta["method"], cutoffs=tuple(meta["cutoffs"]),
                         features=meta["features"], proxy_features=meta["proxy_features"],
                         calibration=meta["calibration"], random_state=card.get("random_state", 0))
    model.estimator_ = obj["estimator"]
    model.features_ = list(meta["features"])
    model.medians_ = dict(meta["medians"])
    model.knots_ = {k: list(v) for k, v in (meta.get("knots") or {}).items()}
    model.calibration_ = meta["calibration"]
    model.training_ = {**card.get("training", {}), "data_sha256": meta["data_sha256"],
                       "fitted_at": meta["fitted_at"]}
    if card.get("metrics") is not None:
        model.metrics_ = card["metrics"]
    if card.get("fairness_summary") is not None:
        model.fairness_summary_ = card["fairness_summary"]
    model.card_ = card
    return model


def _norm(v):
    """JSON round-trip, so tuples/lists and numpy floats compare equal."""
    return json.loads(json.dumps(v, sort_keys=True, default=_json_default))

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
- a scoring setting in the card (features, cut-offs, method, medians, data hash,
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

__all__ = ["save_model", "load_model", "ALLOWED_TYPES", "CARD_SCHEMA", "model_card"]

CARD_SCHEMA = "caseload-model-card/1"

ALLOWED_TYPES = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
"""Types beyond skops' default trusted set that a caseload model may contain."""

_CHECKED = ("method", "calibration", "cutoffs", "features", "proxy_features", "medians",
            "data_sha256", "fitted_at")

ALGORITMEREGISTER = {
    "naam": "Segmentatie uitkeringsbestand (A/B/C, statistisch model)",
    "doel": ("Beslisondersteuning: een geschatte kans op uitstroom naar werk binnen zes maanden "
             "helpt consulenten bepalen wie als eerste bemiddeling krijgt (A direct bemiddelbaar, "
             "B binnen 3-6 maanden, C nog niet bemiddelbaar). Het model beslist niet over recht "
             "op een uitkering of over handhaving."),
    "gegevens": ("Diagnose (trede participatieladder, werkfit, belemmeringen, competentiescores), "
                 "leeftijdsgroep en lopende duur van de uitkering. Geslacht, migratieachtergrond "
                 "en statushouderschap zijn geen kenmerk van het model; ze worden alleen gebruikt "
                 "voor de toets op gelijke behandeling. Proxies voor etniciteit (taal, "
                 "nationaliteit, wijk) alleen na een expliciete keuze in de configuratie."),
    "menselijke_tussenkomst": ("Elke indeling heeft een leesbare reden; de consulent kan de groep "
                               "overschrijven met een vastgelegde reden en datum. Overschrijvingen "
                               "gaan voor en het aandeel per groep staat in het rapport."),
    "risicos": ("Ongelijke behandeling van groepen (zie de fairness-samenvatting: kalibratie en "
                "uitstroom uit groep C per geslacht, leeftijd en migratieachtergrond); "
                "selffulfilling prophecy als groep C minder hulp krijgt; verouderd model als de "
                "arbeidsmarkt verandert (hertrain en toets jaarlijks)."),
    "wettelijke_basis": "Participatiewet, artikel 7 (taak arbeidsinschakeling).",
    "status": "Beslisondersteuning, niet geautomatiseerde besluitvorming (AVG art. 22).",
}


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
        "data_sha256": model.training_["data_sha256"],
        "fitted_at": model.training_["fitted_at"],
    }


def model_card(model, name: str, sha256: str, extra: dict | None = None) -> dict:
    """The JSON card of a fitted :class:`SegmentModel` (``sha256`` of its skops file)."""
    import sklearn
    import skops

    from caseload import __version__

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
        "algoritmeregister": dict(ALGORITMEREGISTER),
    }
    if extra:
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
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False, default=_json_default) + "\n",
                         encoding="utf-8")
    return skops_path, card_path


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
    if card.get("schema") != CARD_SCHEMA:
        raise ModelCardError(f"unknown card schema {card.get('schema')!r}.", file=card_path,
                             fix=f"Expected {CARD_SCHEMA!r}; refit and save with this version.")
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

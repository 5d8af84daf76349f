"""Agreement between a simulated run and the modeling ODE (spec ``expander-nets.md`` section 6).

For every target term: the measured half time ``t_half_sim`` (first t_eff at which the term's loss
1/2 (coef - <f_hat, h_alpha>)^2 falls to half its initial value) next to the ODE's half time
``t_half_ode`` and ``t_rise``, and the ratios sim / ode and sim / rise (None when a side is
missing or not finite).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theoryscope.protocol import Run


def _num(x: Any) -> float | None:
    """A finite float or None."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def compare(run: Run, theory: Any) -> dict[str, Any]:
    """JSON-ready agreement: per-term half times and ratios, and the final population loss."""
    t_sim = list(run.summary.get("t_half_sim") or [])
    readouts = list(getattr(theory, "terms", ()) or ())
    cfg_terms = list(run.config.get("terms") or [])
    n_terms = max(len(cfg_terms), len(readouts))
    terms = []
    for j in range(n_terms):
        ro = readouts[j] if j < len(readouts) else None
        cfg_term = cfg_terms[j] if j < len(cfg_terms) else {}
        alpha = getattr(ro, "alpha", None)
        if alpha is None:
            alpha = cfg_term.get("alpha", [])
        coef = getattr(ro, "coef", None)
        if coef is None:
            coef = cfg_term.get("coef", 1.0)
        sim = _num(t_sim[j]) if j < len(t_sim) else None
        ode = _num(getattr(ro, "t_half_ode", None))
        rise = _num(getattr(ro, "t_rise", None))
        terms.append(
            {
                "alpha": [int(a) for a in alpha],
                "coef": float(coef),
                "t_half_sim": sim,
                "t_half_ode": ode,
                "t_rise": rise,
                "ratio_sim_ode": _ratio(sim, ode),
                "ratio_sim_rise": _ratio(sim, rise),
            }
        )
    final = None
    lp = run.series.get("loss_population") if run.series else None
    if lp is not None and np.size(lp):
        final = _num(np.asarray(lp)[-1])
    return {"terms": terms, "loss_population_final": final, "final": final_record(run)}


def final_record(run: Run) -> dict[str, Any]:
    """The last record's headline numbers (the CLI's ``final``; empty when nothing was
    recorded)."""
    series = run.series or {}
    if not len(series.get("step", ())):
        return {}
    return {
        "step": int(series["step"][-1]),
        "t_eff": float(series["t_eff"][-1]),
        "loss_batch_ema": _num(series["loss_ema"][-1]),
        "loss_population": _num(series["loss_population"][-1]),
        "W1": np.asarray(series["W1"][-1]).tolist(),
        "w2_scaled_norm": _num(series["w2_scaled_norm"][-1]),
    }

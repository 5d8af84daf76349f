"""Quadratic networks (polynets): the Gaussian population loss with a covariance against Monte
Carlo, gradients against JAX and finite differences, every enumerated critical point (gradient
zero in float64, Hessian index and nullity as predicted), the count of critical sets against the
closed form and against a blind Newton search, GD end points in the predicted set, and the
teacher-metric discriminant crossed by a data variance; the three studies through the CLI."""

from __future__ import annotations

import json
import math

import jax
import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.polynets.critical import (
    count_formula,
    decoupled_eigenvalues,
    discriminant_factors,
    distance_to_set,
    eigen_groups,
    enumerate_critical,
    representative,
)
from theoryscope.experiments.polynets.newton import newton_search
from theoryscope.experiments.polynets.quadratic import (
    haar_orthogonal,
    loss_and_grad,
    make_problem,
    matrix_loss,
    monte_carlo_loss,
    student_matrix,
)
from theoryscope.experiments.polynets.signature import measure, pack, signature, tools, unpack
from theoryscope.experiments.polynets.studies_critical import (
    CriticalParams,
    DiscriminantParams,
    EndpointParams,
    gd_endpoints,
    run_discriminant,
)
from theoryscope.spec import StudyContext
from theoryscope.store import RunStore

#: Problems of several teachers, widths, covariances and outer-weight modes (few shapes: each
#: new (d, r, outer) compiles the JAX Hessian once).
CASES = {
    "signed-pq": dict(teacher_eigs=(1.0, 0.6, -0.45, 0.15), width=2, outer="signed",
                      negative=1, covariance=(1.5, 1.0, 0.7, 1.2)),
    "signed-psd": dict(teacher_eigs=(1.0, 0.7, 0.4, 0.2), width=2, outer="signed",
                       covariance=(0.5, 2.0, 1.0, 1.3)),
    "free": dict(teacher_eigs=(1.0, 0.6, -0.45, 0.15), width=2, outer="free",
                 covariance=(1.5, 1.0, 0.7, 1.2)),
    "free-aligned": dict(teacher_eigs=(0.9, -0.3, 0.5, -1.1), width=2, outer="free",
                         teacher_basis="aligned", covariance=(1.0, 2.0, 0.6, 1.0)),
    "narrow-teacher": dict(teacher_eigs=(1.0, 0.5, 0.0, 0.0), width=2, outer="signed",
                           covariance=(2.0, 1.0, 0.5, 1.0)),
    "wide-student": dict(teacher_eigs=(1.2, -0.4, 0.3), width=3, outer="signed", negative=1),
}  # fmt: skip


def problem_of(name):
    return make_problem(**CASES[name])


def _check_scale(problem):
    return max(1.0, float(np.max(np.abs(problem.lam))))


# ------------------------------------------------------------------------------------------------
# the loss and its gradient
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["signed-pq", "free-aligned"])
def test_population_loss_with_covariance_matches_monte_carlo(name):
    problem = problem_of(name)
    rng = np.random.default_rng(3)
    w = 0.7 * rng.standard_normal((problem.d, problem.width))
    a = rng.standard_normal(problem.width) if problem.outer == "free" else problem.signs
    m = student_matrix(w, a)
    closed = float(matrix_loss(m, problem))
    grad_form = float(loss_and_grad(problem, w[None], a[None])[0][0])
    mean, se = monte_carlo_loss(problem, m, 400_000, np.random.default_rng(5))
    assert grad_form == pytest.approx(closed, rel=1e-12)
    assert abs(mean - closed) < 5 * se and se < 0.02 * closed


def test_transformed_metric_is_the_loss_in_whitened_coordinates():
    """L(M) = 2 ||D~||_F^2 + (tr D~)^2 with D~ = Sigma^(1/2) D Sigma^(1/2) (Isserlis, Sigma)."""
    problem = problem_of("signed-pq")
    rng = np.random.default_rng(1)
    m = rng.standard_normal((4, 4))
    m = m + m.T
    s = problem.sqrt_cov
    dt = s[:, None] * (m - problem.m_star) * s[None, :]
    assert float(matrix_loss(m, problem)) == pytest.approx(
        2 * np.sum(dt**2) + np.trace(dt) ** 2, rel=1e-13
    )
    vals = np.linalg.eigvalsh(s[:, None] * problem.m_star * s[None, :])
    assert np.allclose(np.sort(vals)[::-1], problem.lam, atol=1e-13)


@pytest.mark.parametrize("name", ["signed-pq", "free"])
def test_numpy_gradient_matches_jax_and_finite_differences(name):
    problem = problem_of(name)
    rng = np.random.default_rng(2)
    w = 0.6 * rng.standard_normal((problem.d, problem.width))
    a = rng.standard_normal(problem.width) if problem.outer == "free" else problem.signs
    _, gw, ga = loss_and_grad(problem, w[None], a[None])
    grad = pack(problem, gw[0], ga[0])
    kit = tools(problem)
    theta = pack(problem, w, a)
    with jax.enable_x64(True):
        jgrad = np.asarray(kit.value_and_grad(jax.numpy.asarray(theta))[1])
    assert np.allclose(grad, jgrad, rtol=1e-12, atol=1e-12)
    h = 1e-6
    for k in rng.choice(theta.size, 5, replace=False):
        e = np.zeros_like(theta)
        e[k] = h
        wp, ap = unpack(problem, theta + e)
        wm, am = unpack(problem, theta - e)
        fd = (loss_and_grad(problem, wp[None], ap[None])[0][0]
              - loss_and_grad(problem, wm[None], am[None])[0][0]) / (2 * h)  # fmt: skip
        assert fd == pytest.approx(grad[k], rel=1e-6, abs=1e-8)


# ------------------------------------------------------------------------------------------------
# every critical point
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_vanishes_and_hessian_signature_is_predicted(name):
    """At a representative of every predicted set, moved by a random symmetry: the gradient is
    zero to rounding (float64), the loss is L_S, and (index, nullity) of jax.hessian are the
    predicted ones (free: both canonical signs of the spare outer weights)."""
    from theoryscope.experiments.polynets.studies_critical import _random_symmetry

    problem = problem_of(name)
    kit = tools(problem)
    sets = enumerate_critical(problem)
    rng = np.random.default_rng(4)
    scale = _check_scale(problem)
    for cset in sets:
        signs = [1.0, -1.0] if problem.outer == "free" and cset.spare else [1.0]
        for spare_sign in signs:
            w, a = _random_symmetry(problem, *representative(problem, cset, spare_sign), rng)
            got = measure(problem, kit, w, a)
            assert got["grad_norm"] < 1e-12 * scale * max(1.0, problem.teacher_norm), cset.label
            assert got["loss"] == pytest.approx(cset.loss, rel=1e-12, abs=1e-14)
            neg, zero, pos = signature(got["eigenvalues"])
            index = cset.index if spare_sign > 0 else cset.index_minus
            nullity = cset.nullity if spare_sign > 0 else cset.nullity_minus
            assert (neg, zero) == (index, nullity), (cset.label, spare_sign)
            assert neg + zero + pos == problem.n_params
            assert cset.index_min <= neg <= cset.index_max


@pytest.mark.parametrize("name", ["signed-psd", "free"])
def test_closed_form_hessian_eigenvalues_at_identity_covariance(name):
    """With Sigma = I the decoupled eigenvalues 8 eps_i (lambda_i - lambda_l) and
    -8 c_j (lambda_l + tau_S) are in the measured spectrum; the rest is >= 0."""
    spec = dict(CASES[name], covariance=None)
    problem = make_problem(**spec)
    kit = tools(problem)
    for cset in enumerate_critical(problem):
        w, a = representative(problem, cset)
        eigs = list(measure(problem, kit, w, a)["eigenvalues"])
        for value in decoupled_eigenvalues(problem, cset):
            j = int(np.argmin([abs(e - value) for e in eigs]))
            assert abs(eigs[j] - value) < 1e-10, (cset.label, value)
            eigs.pop(j)
        assert min(eigs, default=0.0) > -1e-10  # the kept block is positive semi-definite


def test_sets_are_subsets_of_eigen_directions_with_shifted_eigenvalues():
    """mu_i = lambda_i + T_S / (k + 2) and L_S = 2 sum_{l not in S} lambda_l^2 + 2 T_S^2/(k+2);
    the new eigenvalue of S + l has the sign of F_{S,l} = (k + 2) lambda_l + T_S."""
    problem = problem_of("free")
    lam = problem.lam
    by_kept = {tuple(c.kept): c for c in enumerate_critical(problem)}
    for kept, cset in by_kept.items():
        rest = [l for l in range(1, 5) if l not in kept]
        t_s = sum(lam[l - 1] for l in rest)
        k = len(kept)
        assert cset.mu == pytest.approx([lam[i - 1] + t_s / (k + 2) for i in kept], abs=1e-14)
        assert cset.loss == pytest.approx(
            2 * sum(lam[l - 1] ** 2 for l in rest) + 2 * t_s**2 / (k + 2), rel=1e-13
        )
        for l in rest if k < problem.width else []:
            bigger = by_kept[tuple(sorted((*kept, l)))]
            mu_l = bigger.mu[bigger.kept.index(l)]
            assert mu_l == pytest.approx((k + 2) * (lam[l - 1] + cset.tau) / (k + 3), abs=1e-14)


def test_count_formula_and_enumeration_agree():
    """free: sum_{k <= r} C(d, k) sets; signed with a psd teacher: sum_{k <= p} C(d, k)."""
    free = problem_of("free")
    assert len(enumerate_critical(free)) == count_formula(free) == 1 + 4 + 6
    psd = problem_of("signed-psd")
    assert len(enumerate_critical(psd)) == count_formula(psd) == 1 + 4 + 6
    wide = make_problem((1.0, 0.8, 0.5, 0.3, 0.1), width=4, outer="signed", negative=1)
    assert len(enumerate_critical(wide)) == count_formula(wide) == 1 + 5 + 10 + 10
    assert count_formula(problem_of("signed-pq")) is None  # sign-dependent: no closed form
    narrow = problem_of("narrow-teacher")  # repeated zero eigenvalue: Grassmannian sets
    assert eigen_groups(narrow.lam) == [[0], [1], [2, 3]]
    assert count_formula(narrow) is None
    assert sorted(c.label for c in enumerate_critical(narrow)) == sorted(
        ["{}", "{1}", "{2}", "{1 of 3-4}", "{1,2}", "{1,1 of 3-4}", "{2,1 of 3-4}",
         "{2 of 3-4}"]
    )  # fmt: skip


def test_blind_newton_search_finds_exactly_the_predicted_sets():
    """Levenberg-Marquardt on grad L = 0 from random starts, grouped without the prediction:
    as many groups as the closed-form count, each one a predicted set."""
    problem = make_problem((1.0, 0.7, 0.4), width=2, outer="signed", covariance=(1.0, 1.4, 0.8))
    sets = enumerate_critical(problem)
    found = newton_search(problem, 60, seed=0, predicted=sets)
    assert len(found["groups"]) == count_formula(problem) == len(sets) == 7
    assert sorted(g["matched"] for g in found["groups"]) == sorted(c.label for c in sets)
    assert all(g["distance"] < 1e-6 for g in found["groups"])
    for g in found["groups"]:
        match = next(c for c in sets if c.label == g["matched"])
        assert g["loss"] == pytest.approx(match.loss, rel=1e-9)


def test_distance_to_set_is_zero_on_the_set_and_positive_off_it():
    problem = problem_of("narrow-teacher")
    sets = enumerate_critical(problem)
    s = problem.sqrt_cov
    rng = np.random.default_rng(8)
    for cset in sets:
        w, a = representative(problem, cset)
        mt = s[:, None] * student_matrix(w, a) * s[None, :]
        # rotate inside the repeated (zero) eigenspace: still the same critical set
        v = problem.vecs[:, 2:4]
        rot = v @ haar_orthogonal(2, rng) @ v.T + problem.vecs[:, :2] @ problem.vecs[:, :2].T
        assert distance_to_set(problem, rot @ mt @ rot.T, cset) < 1e-12
        others = [distance_to_set(problem, mt, c) for c in sets if c.label != cset.label]
        assert min(others) > 1e-3


# ------------------------------------------------------------------------------------------------
# gradient descent and the discriminant
# ------------------------------------------------------------------------------------------------
def test_gd_end_points_belong_to_the_predicted_set_and_reproduce():
    """free, r = 1, teacher (1, -0.8): two sets hold minima ({1} global, {2} spurious); GD from
    random inits ends in one of them, never elsewhere; the same seeds give the same bits."""
    problem = make_problem((1.0, -0.8), width=1, outer="free", teacher_basis="aligned")
    sets = enumerate_critical(problem)
    assert [c.label for c in sets if c.stable] == ["{1}", "{2}"]
    out = gd_endpoints(problem, sets, list(range(12)), 0.5, 0.02, 3000)
    assert out["matched_fraction"] == 1.0 and out["stable_fraction"] == 1.0
    assert out["hits"]["{1}"] > 0 and out["hits"]["{2}"] > 0 and out["hits"]["{}"] == 0
    assert out["spurious_fraction"] == pytest.approx(out["hits"]["{2}"] / 12)
    again = gd_endpoints(problem, sets, list(range(12)), 0.5, 0.02, 3000)
    assert [e["loss"] for e in again["ends"]] == [e["loss"] for e in out["ends"]]


def test_gd_end_points_with_a_covariance_and_signed_weights():
    problem = make_problem(**CASES["signed-pq"])
    sets = enumerate_critical(problem)
    out = gd_endpoints(problem, sets, list(range(6)), 0.5, 0.01, 4000)
    assert out["matched_fraction"] == 1.0 and out["global_fraction"] == 1.0
    assert max(e["distance"] for e in out["ends"]) < 1e-6


def test_discriminant_crossings_of_a_positive_neuron():
    """Teacher x1^2 - x2^2, one positive neuron, s = Var(x2): the best fit keeps x1 with
    mu_1 = 1 - s / 3 (F = 2 lambda_1 + T = 3 - s) and the saddle {2} has mu_2 = 1/3 - s
    (F = 1 - 3 s): the structure changes at s* = 1/3 and 3, and nowhere else."""
    params = DiscriminantParams(points=25, gd_values=(), s_min=0.1, s_max=10.0)
    out = run_discriminant(params, 0, StudyContext())
    assert [ev["s"] for ev in out["events"]] == pytest.approx([1 / 3, 3.0], rel=1e-8)
    assert [ev["root"] for ev in out["events"]] == pytest.approx([1 / 3, 3.0], rel=1e-13)
    assert [(ev["n_before"], ev["n_after"]) for ev in out["events"]] == [(3, 2), (2, 1)]
    first = {row["s"]: row for row in out["grid"]}
    assert first[out["grid"][0]["s"]]["global_label"] == "{1}"
    assert out["grid"][-1]["global_label"] == "{}"  # the neuron is dead beyond s* = 3


def test_hessian_is_degenerate_exactly_on_the_discriminant():
    """At s = 3 the spare neuron of the set {} has zero curvature along u_1 (lambda_1 + tau = 0):
    one more zero Hessian eigenvalue; just below and above, the index of {} is 1 and 0."""
    signatures = {}
    for s in (3.0 - 1e-3, 3.0, 3.0 + 1e-3):
        problem = make_problem((1.0, -1.0), width=1, outer="signed", teacher_basis="aligned",
                               covariance=(1.0, s))  # fmt: skip
        empty = next(c for c in enumerate_critical(problem) if c.rank == 0)
        got = measure(problem, tools(problem), *representative(problem, empty))
        signatures[s] = (signature(got["eigenvalues"])[:2], empty.index, empty.degenerate)
    assert signatures[3.0 - 1e-3] == ((1, 0), 1, False)
    assert signatures[3.0] == ((0, 1), 0, True)
    assert signatures[3.0 + 1e-3] == ((0, 0), 0, False)


def test_discriminant_factors_vanish_where_signatures_change():
    """Along random straight paths of transformed spectra, every change of the predicted
    critical structure lies between two points where some factor of the discriminant changes
    sign (off Delta = 0 the structure is locally constant)."""
    from theoryscope.experiments.polynets.critical import fingerprint
    from theoryscope.experiments.polynets.quadratic import Problem

    lam = np.array([1.0, 0.4, -0.2])
    factors = {(f["kind"], str(f.get("S")), f.get("l"), f.get("i"), f.get("j")): f["value"]
               for f in discriminant_factors(lam, 2)}  # fmt: skip
    assert factors[("rank", "[]", 3, None, None)] == pytest.approx(2 * (-0.2) + 1.2)
    assert factors[("rank", "[1]", 3, None, None)] == pytest.approx(3 * (-0.2) + 0.2)
    assert len(factors) == 3 + 3 + 6  # crossings, |S| = 0, |S| = 1

    rng = np.random.default_rng(11)
    changes = 0
    for outer, negative in (("signed", 1), ("free", 0), ("signed", 0)):
        for _ in range(3):
            ends = rng.uniform(-1.0, 1.0, (2, 4))
            prev = None
            for t in np.linspace(0.0, 1.0, 150):
                spec = np.sort((1 - t) * ends[0] + t * ends[1])[::-1]
                problem = Problem(
                    m_star=np.diag(spec),
                    cov=np.ones(4),
                    lam=spec,
                    vecs=np.eye(4),
                    width=2,
                    outer=outer,
                    signs=np.array([1.0, -1.0] if negative else [1.0, 1.0]),
                )
                signs = np.sign([f["value"] for f in discriminant_factors(spec, 2)])
                fp = fingerprint(enumerate_critical(problem))
                if prev is not None and fp != prev[0]:
                    changes += 1
                    assert np.any(signs != prev[1]), (outer, t)
                prev = (fp, signs)
    assert changes >= 5


# ------------------------------------------------------------------------------------------------
# the studies through the CLI and the store
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, field",
    [
        ({"covariance": "1,2"}, "covariance"),
        ({"covariance": "1,0,1,1"}, "covariance"),
        ({"negative": 3}, "negative"),
        ({"outer": "free", "negative": 1}, "negative"),
        ({"teacher_eigs": ""}, "teacher_eigs"),
        ({"teacher_eigs": ",".join(["1"] * 11)}, "teacher_eigs"),
        ({"width": 0}, "width"),
        ({"max_checks": 0}, "max_checks"),
    ],
)
def test_bad_critical_params_name_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        CriticalParams.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


@pytest.mark.parametrize(
    "cls, data, field",
    [
        (EndpointParams, {"seeds": "5-2"}, "seeds"),
        (EndpointParams, {"steps": 0}, "steps"),
        (DiscriminantParams, {"coordinate": 3}, "coordinate"),
        (DiscriminantParams, {"s_min": 2, "s_max": 1}, "s_max"),
        (DiscriminantParams, {"gd_values": "0,1"}, "gd_values"),
    ],
)
def test_bad_study_params_name_the_field(cls, data, field):
    with pytest.raises(ConfigError) as info:
        cls.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def _study(args, capsys):
    code = main(["polynets", *args, "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished", payload.get("message")
    return payload


def test_critical_points_study_through_the_cli(store_path, tmp_path, capsys):
    out = _study(["critical-points", "--teacher-eigs", "1,0.6,-0.45,0.15", "--width", "2",
                  "--out", str(tmp_path)], capsys)  # fmt: skip
    assert out["count"] == 8 and out["match_fraction"] == 1.0 and out["checked"] == 8
    assert out["max_grad_norm"] < 1e-12 and out["global_min"] == "{1,4}"
    assert all(row["within"] for row in out["metrics"] if row["within"] is not None)
    assert out["figure"].endswith(".png")
    stored = RunStore(store_path).get_run(out["run_id"])
    assert stored.study == "critical-points" and stored.summary["count"] == 8


def test_gd_endpoints_study_through_the_cli(store_path, tmp_path, capsys):
    out = _study(["gd-endpoints", "--seeds", "0-5", "--steps", "3000", "--out",
                  str(tmp_path)], capsys)  # fmt: skip
    assert out["matched_fraction"] == 1.0 and out["stable_fraction"] == 1.0
    assert sum(row["hits"] for row in out["rows"]) == 6
    assert out["figure"].endswith(".png")


def test_discriminant_study_through_the_cli(store_path, tmp_path, capsys):
    out = _study(["discriminant", "--points", "12", "--gd-values", "1,5", "--seeds", "0-3",
                  "--steps", "2000", "--out", str(tmp_path)], capsys)  # fmt: skip
    assert len(out["events"]) == 2
    gd = {row["s"]: row for row in out["gd"]}
    assert gd[1.0]["endpoints"] == {"{1}": 4} and gd[5.0]["endpoints"] == {"{}": 4}
    crossing = [row for row in out["metrics"] if row["name"] == "crossing"]
    assert len(crossing) == 2 and all(row["within"] for row in crossing)
    assert out["figure"].endswith(".png")


def test_studies_stop_when_asked(store_path):
    from theoryscope.runner import execute_study

    store = RunStore(store_path)
    params = EndpointParams(seeds=(0, 1), steps=2000)
    out = execute_study("polynets", "gd-endpoints", params, 0, store=store,
                        should_stop=lambda: True)  # fmt: skip
    assert out.status == "interrupted" and out.result["stopped"]
    disc = execute_study("polynets", "discriminant", DiscriminantParams(points=10), 0,
                         store=store, should_stop=lambda: True)  # fmt: skip
    assert disc.status == "interrupted" and disc.result["gd"] == []
    assert math.isfinite(disc.result["grid"][0]["global_loss"])

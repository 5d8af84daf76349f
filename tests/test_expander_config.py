"""Expander Nets config: validation messages, broadcasting, serialization, hashing."""

from __future__ import annotations

import math

import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments.expander import Config, Term


def test_defaults_follow_the_page():
    cfg = Config()
    assert (cfg.d, cfg.k, cfg.lr, cfg.batch) == (3, 1000, 0.01, 100)
    assert cfg.gamma == (0.1, 0.1, 0.1)
    assert cfg.terms == (Term((1, 1, 0), 1.0),)
    assert cfg.uses_default_nonlinearity and cfg.dtype == "float32"


def test_t_eff_sets_steps_and_gamma_broadcasts():
    cfg = Config.create(d=5, gamma=0.01, alpha=["1,0,0,0,2"], lr=0.02, t_eff=10)
    assert cfg.steps == 500 and math.isclose(cfg.t_eff, 10.0)
    assert cfg.gamma == (0.01,) * 5
    assert Config(d=1).terms[0].alpha == (1,)


def test_many_terms_with_coefficients_and_large_alpha():
    cfg = Config.create(d=2, alpha=[(7, 0), (0, 1), (2, 2)], coef=[0.5, -1, 2])
    assert cfg.coefs == (0.5, -1.0, 2.0) and cfg.alphas[0] == (7, 0)


def test_round_trip_and_hash():
    cfg = Config.create(d=3, gamma=[0.01, 0.02, 0.03], alpha=["1,1,0", "0,0,2"], coef=[1, 0.5])
    again = Config.from_dict(cfg.to_dict())
    assert again == cfg and again.config_hash() == cfg.config_hash()
    assert cfg.replace(k=10).config_hash() != cfg.config_hash()


@pytest.mark.parametrize(
    "kwargs, field, allowed",
    [
        ({"gamma": 0}, "gamma", "> 0"),
        ({"gamma": -1}, "gamma", "> 0"),
        ({"gamma": float("nan")}, "gamma", "finite"),
        ({"gamma": [0.1, 0.2]}, "gamma", "d = 3"),
        ({"alpha": "1,-1,0"}, "alpha", ">= 0"),
        ({"alpha": "1.5,0,0"}, "alpha", "integer"),
        ({"alpha": "1,1"}, "alpha", "exactly 3"),
        ({"alpha": ["1,0,0", "1,0,0"]}, "alpha", "distinct"),
        ({"alpha": "1,0,0", "coef": [1, 2]}, "coef", "one per term"),
        ({"k": 0}, "k", ">= 1"),
        ({"k": 2.5}, "k", "integer"),
        ({"d": 0}, "d", "from 1"),
        ({"lr": 0}, "lr", "> 0"),
        ({"lr": -0.1}, "lr", "> 0"),
        ({"lr": float("inf")}, "lr", "finite"),
        ({"batch": 0}, "batch", ">= 1"),
        ({"steps": 0}, "steps", ">= 1"),
        ({"t_eff": -1}, "t_eff", "> 0"),
        ({"nonlinearity": "swish"}, "nonlinearity", "sqrt2cos"),
        ({"dtype": "float16"}, "dtype", "float32"),
        ({"mode": "adam"}, "mode", "sgd"),
    ],
)
def test_bad_values_name_the_field_and_the_allowed_range(kwargs, field, allowed):
    with pytest.raises(ConfigError) as err:
        Config.create(**kwargs)
    message = str(err.value)
    assert err.value.field == field and message.startswith(f"{field}: ")
    assert allowed in message and "\n" not in message


def test_unknown_key_in_from_dict():
    with pytest.raises(ConfigError, match="unknown setting"):
        Config.from_dict({"d": 3, "width": 10})


def test_custom_nonlinearity_is_named():
    import jax.numpy as jnp

    def softsign(z):
        return z / (1 + jnp.abs(z))

    cfg = Config(nonlinearity=softsign)
    assert not cfg.uses_default_nonlinearity
    assert cfg.to_dict()["nonlinearity"] == "custom:softsign"

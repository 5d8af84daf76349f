"""The conformance suite runs over every registered experiment plus a toy one that only the
tests register (``toy_experiment``): whatever the generic layers derive must work for all."""

from __future__ import annotations

import pytest
import toy_experiment

from theoryscope.protocol import all_experiments, register, unregister


@pytest.fixture(scope="session", autouse=True)
def toy_registered():
    register(toy_experiment.EXPERIMENT)
    yield toy_experiment.EXPERIMENT
    unregister("toy")


def experiments_under_test() -> list:
    """Every built-in experiment with a declared config, and the toy."""
    names = [e.name for e in all_experiments() if e.config is not None]
    return sorted(set(names) | {"toy"})


def experiment(name: str):
    """The experiment called ``name`` (the toy even before the session registers it)."""
    from theoryscope.protocol import get_experiment

    return toy_experiment.EXPERIMENT if name == "toy" else get_experiment(name)

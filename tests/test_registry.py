"""The registry (issue 8, item 2): one name, one experiment; a second one of the same name raises."""

from __future__ import annotations

import dataclasses

import pytest

from theoryscope.protocol import get_experiment, register, unregister


def test_a_duplicate_name_raises_and_the_first_stays():
    first = get_experiment("polynets")
    impostor = dataclasses.replace(first, title="another polynets")
    with pytest.raises(ValueError, match="'polynets' is already registered"):
        register(impostor)
    assert get_experiment("polynets") is first
    assert register(first) is first  # the same object again is harmless


def test_unknown_names_are_one_line_errors_and_unregister_forgets():
    clone = dataclasses.replace(get_experiment("polynets"), name="polynets-clone")
    register(clone)
    try:
        assert get_experiment("polynets-clone") is clone
    finally:
        unregister("polynets-clone")
    with pytest.raises(Exception, match="polynets-clone") as caught:
        get_experiment("polynets-clone")
    assert "\n" not in str(caught.value)

"""updraft_airflow.params: DAG params and dag_run.conf values coerced in one place."""

from __future__ import annotations

import pytest

from updraft.errors import Transient, UpdraftError
from updraft_airflow import params
from updraft_airflow.params import ParamError


@pytest.mark.parametrize("given", [None, "", "  ", "None", "null"])
def test_optional_text_not_given_is_none(given: object) -> None:
    assert params.optional(given, "release") is None


def test_optional_text_is_stripped_text_and_a_number_becomes_text() -> None:
    assert params.optional(" 9 ", "release") == "9"
    assert params.optional(9, "release") == "9"  # native templates turn `9` into an int


def test_optional_text_refuses_a_structure_naming_the_param() -> None:
    with pytest.raises(ParamError, match=r"^param release: expected text, got list"):
        params.optional(["9", "10"], "release")


def test_required_text_names_the_missing_param() -> None:
    assert params.required("clamav-0.97.6-1", "package") == "clamav-0.97.6-1"
    with pytest.raises(ParamError, match=r"^param package: missing"):
        params.required("None", "package")


@pytest.mark.parametrize(("given", "meant"), [
    (True, True), (False, False), (None, False), ("true", True), ("True", True),
    ("1", True), ("yes", True), (" on ", True), ("false", False), ("False", False),
    ("0", False), ("no", False), ("", False), ("None", False), (1, True), (0, False),
])
def test_flag_reads_booleans_and_their_spellings(given: object, meant: bool) -> None:
    assert params.flag(given, "dry_run") is meant


def test_flag_refuses_anything_else_in_one_line_naming_the_param() -> None:
    with pytest.raises(ParamError) as caught:
        params.flag("maybe\nnot", "dry_run")
    assert str(caught.value).startswith("param dry_run: 'maybe\\nnot' is not a boolean")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("given", "meant"), [
    (None, []), ("", []), ("None", []), ("x86_64", ["x86_64"]),
    ("x86_64, i386", ["x86_64", "i386"]), ("x86_64 i386,", ["x86_64", "i386"]),
    (["x86_64", " i386 "], ["x86_64", "i386"]), (("9/smetest/i386",), ["9/smetest/i386"]),
])
def test_text_list_takes_lists_and_comma_or_space_strings(given: object,
                                                          meant: list[str]) -> None:
    assert params.text_list(given, "arches") == meant


def test_text_list_refuses_a_mapping_or_a_number() -> None:
    with pytest.raises(ParamError, match=r"^param arches: expected a list, got dict"):
        params.text_list({"x86_64": 1}, "arches")
    with pytest.raises(ParamError, match=r"^param arches: expected a list, got int"):
        params.text_list(3, "arches")


def test_json_object_from_a_mapping_or_its_json_text() -> None:
    assert params.json_object(None, "overrides") == {}
    assert params.json_object("None", "overrides") == {}
    assert params.json_object({"with": ["x"]}, "overrides") == {"with": ["x"]}
    assert params.json_object('{"with": ["x"]}', "overrides") == {"with": ["x"]}


def test_json_object_refuses_bad_json_and_non_objects_naming_the_param() -> None:
    with pytest.raises(ParamError, match=r"^param overrides: not JSON \("):
        params.json_object("{with: x", "overrides")
    with pytest.raises(ParamError, match=r"^param overrides: expected an object, got list"):
        params.json_object("[1, 2]", "overrides")


def test_a_bad_param_is_permanent() -> None:
    """A retry would read the same conf: the operators fail it at once."""
    assert issubclass(ParamError, UpdraftError) and not issubclass(ParamError, Transient)

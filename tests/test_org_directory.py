"""The org directory: profiles load whole, a bad directory changes nothing, and people are found by unit and role."""

from __future__ import annotations

import pytest

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory
from engine.errors import InvalidInput, NotFound
from engine.org.directory import Directory, Person, Role, Unit
from engine.org.profiles import generate


def test_the_demo_profile_has_thirteen_units_of_three_schools_of_five_class_teachers(huhua: Huhua) -> None:
    loaded = huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    assert loaded["units"] == len(huhua.queries.units(limit=5000))
    counties = huhua.queries.units(kind="county")
    assert len(counties) == 13 and {c["name"] for c in counties} >= {"珠晖区教育局", "耒阳市教育局", "市直"}
    schools = huhua.queries.units(kind="school", limit=5000)
    assert len(schools) == 39
    for county in counties:
        assert len(huhua.queries.units(kind="school", under=county["id"])) == 3
    teachers = huhua.queries.users(role="class_teacher", under="zhuhui-s002")
    assert [t["id"] for t in teachers] == [f"zhuhui-s002-bzr{k}" for k in range(1, 6)]
    assert all(len(t["name"]) in (2, 3) for t in teachers)  # Chinese names
    principal = huhua.queries.users(role="校长", unit="zhuhui-s002")  # a role by its Chinese name
    assert [(p["id"], p["roles"][0]["role_name"]) for p in principal] == [("zhuhui-s002-xz", "校长")]
    every_school_staffed = {r["unit"] for p in huhua.queries.users(role="principal", limit=500) for r in p["roles"]}
    assert every_school_staffed == {s["id"] for s in schools}


def test_a_directory_with_bad_rows_is_refused_whole_and_the_old_one_stays(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    bad = Directory(
        units=[Unit("hy", "衡阳市教育局", "city"), Unit("x1", "某区", "county", "hy"),
               Unit("s1", "某校", "school", "nowhere"), Unit("s2", "某校", "campus", "x1"),
               Unit("x1", "重复", "county", "hy")],
        people=[Person("p1", "张三", "x1"), Person("p2", "", "s1"), Person("p3", "李四", "s9")],
        roles=[Role("p1", "x1", "programme_officer"), Role("p1", "x1", "wizard"), Role("p9", "x1", "principal")])
    with pytest.raises(InvalidInput) as refused:
        huhua.execute(LoadDirectory(bad, "admin", source="units.xlsx"))
    where = {p.field for p in refused.value.problems}
    assert {"units row 3: parent", "units row 4: kind", "units row 5: id", "people row 2: name",
            "people row 3: unit", "roles row 2: role", "roles row 3: person"} <= where
    assert refused.value.message.startswith("units.xlsx: ")
    assert len(huhua.queries.units(kind="school", limit=5000)) == 39  # nothing of the bad file was applied


def test_a_school_must_belong_to_a_county(huhua: Huhua) -> None:
    wrong = Directory(units=[Unit("hy", "衡阳市教育局", "city"), Unit("s1", "某校", "school", "hy")])
    with pytest.raises(InvalidInput) as refused:
        huhua.execute(LoadDirectory(wrong, "admin"))
    assert "a school needs county as its parent, not city" in str(refused.value)


def test_asking_under_a_unit_that_does_not_exist_says_so(huhua: Huhua) -> None:
    with pytest.raises(NotFound):
        huhua.queries.users(under="atlantis")


@pytest.mark.slow
def test_the_full_profile_loads_at_city_scale(huhua: Huhua) -> None:
    loaded = huhua.execute(LoadDirectory(generate("full"), "admin", source="full"))
    schools_and_points = len(huhua.queries.units(kind="school", limit=5000)) + len(
        huhua.queries.units(kind="teaching_point", limit=5000))
    assert schools_and_points == 2600
    assert loaded["people"] > 45_000
    assert len(huhua.queries.users(role="class_teacher", under="leiyang", limit=500)) == 500  # a page of many

"""Generated directories: ``demo`` for the embedded default, ``full`` for benchmarks at city scale.

Both follow the programme's org chart (MISSION.md): 衡阳市教育局 with its departments, the twelve
county bureaus and 市直, their schools and teaching points, and the people who hold the roles the
processes offer work to. ``full`` uses the sizing assumption (about 2,600 schools and teaching points,
40,000 class teachers, 3,000 mental-health teachers). Generation is deterministic: the same profile
gives the same ids, names, mobiles and e-mail addresses every time, so a reload changes nothing. Contacts are
fictitious: mobiles in the 1380013xxxx test range, addresses at ``school.example`` and ``bureau.example``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.org.directory import Directory, Person, Role, Unit

CITY = ("hy", "衡阳市教育局")
DEPARTMENTS = [("hy-jjk", "基础教育科"), ("hy-zzrs", "组织人事科"), ("hy-jsgz", "教师工作科"),
               ("hy-twy", "体卫艺科"), ("hy-jky", "教育科学研究院")]
COUNTIES = [("zhuhui", "珠晖区"), ("yanfeng", "雁峰区"), ("shigu", "石鼓区"), ("zhengxiang", "蒸湘区"),
            ("nanyue", "南岳区"), ("hengyangxian", "衡阳县"), ("hengnan", "衡南县"), ("hengshan", "衡山县"),
            ("hengdong", "衡东县"), ("qidong", "祁东县"), ("leiyang", "耒阳市"), ("changning", "常宁市"),
            ("shizhi", "市直")]
EXPERTS = "hy-zjk"  # the city's expert pool
TEACHER_AFFAIRS = "hy-jsgz-kz"  # the head of the city's 教师工作科

_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲红燕建文凤林雪梅春晓云海波宁"
_DIGITS = "零一二三四五六七八九"
_SCHOOL_KINDS = ("中学", "小学", "实验学校")
_IN_SCHOOL = re.compile(r"-s\d{3}(?:-|$)")  # a school's id (zhuhui-s001) or its teaching point's


@dataclass(frozen=True)
class Sizing:
    schools_per_county: int
    points_per_county: int
    class_teachers: int  # in all schools (teaching points have one teacher each besides)
    mh_teachers: int


DEMO = Sizing(schools_per_county=3, points_per_county=1, class_teachers=13 * 3 * 5, mh_teachers=13 * 3)
FULL = Sizing(schools_per_county=160, points_per_county=40, class_teachers=40_000 - 13 * 40, mh_teachers=3_000)
PROFILES = {"demo": DEMO, "full": FULL}


def generate(profile: str) -> Directory:
    """The directory of ``profile`` (``demo`` or ``full``)."""
    sizing = PROFILES[profile]
    directory = Directory()
    names = _Names()

    def person(person_id: str, unit_id: str, *roles: str, role_unit: str | None = None) -> None:
        directory.people.append(Person(person_id, names.next(), unit_id, *_contacts(len(directory.people),
                                                                                     person_id, unit_id)))
        directory.roles.extend(Role(person_id, role_unit or unit_id, role) for role in roles)

    city_id, city_name = CITY
    directory.units.append(Unit(city_id, city_name, "city"))
    person("hy-jz", city_id, "bureau_head")
    person("hy-fgjz", city_id, "deputy_head")
    person("hy-zr", city_id, "programme_officer")
    person("hy-zr2", city_id, "programme_officer")
    for order, (unit_id, name) in enumerate(DEPARTMENTS):
        directory.units.append(Unit(unit_id, name, "department", city_id, order))
        person(f"{unit_id}-kz", unit_id, "department_head")
    # the city's 教师工作科 registers continuing-education credits: the city's own and 市直 schools' teachers'
    directory.roles += [Role(TEACHER_AFFAIRS, city_id, "credit_registrar"),
                        Role(TEACHER_AFFAIRS, "shizhi", "credit_registrar")]
    directory.units.append(Unit(EXPERTS, "市级专家库", "outside", city_id, len(DEPARTMENTS)))
    for n in range(1, 7 if profile == "demo" else 41):
        person(f"zj{n:02d}", EXPERTS, "expert")
    person("hy-jjjc", city_id, "inspector")

    schools: list[str] = []
    for order, (county_id, county_name) in enumerate(COUNTIES):
        directory.units.append(Unit(county_id, county_name if county_id == "shizhi" else f"{county_name}教育局",
                                    "county", city_id, order))
        person(f"{county_id}-jz", county_id, "bureau_head")
        person(f"{county_id}-zr", county_id, "programme_officer")
        if county_id != "shizhi":  # a county's 教师发展中心 registers its teachers' credits
            person(f"{county_id}-jsfz", county_id, "credit_registrar")
        for n in range(1, sizing.schools_per_county + 1):
            school_id = f"{county_id}-s{n:03d}"
            kind = _SCHOOL_KINDS[(n - 1) % len(_SCHOOL_KINDS)]
            prefix = "衡阳市" if county_id == "shizhi" else county_name
            directory.units.append(Unit(school_id, f"{prefix}第{_chinese(n)}{kind}", "school", county_id, n))
            schools.append(school_id)
            person(f"{school_id}-xz", school_id, "principal")
            person(f"{school_id}-zr", school_id, "programme_officer")
        for n in range(1, sizing.points_per_county + 1):
            parent = f"{county_id}-s{(n - 1) % sizing.schools_per_county + 1:03d}"
            point_id = f"{parent}-p{n:02d}"
            directory.units.append(Unit(point_id, f"{county_name}{_chinese(n)}号教学点", "teaching_point", parent, n))
            person(f"{point_id}-js", point_id, "class_teacher", "subject_teacher")

    for school_id, count in zip(schools, _spread(sizing.class_teachers, len(schools)), strict=True):
        for k in range(1, count + 1):
            person(f"{school_id}-bzr{k}", school_id, "class_teacher")
    for school_id, count in zip(schools, _spread(sizing.mh_teachers, len(schools)), strict=True):
        for k in range(1, count + 1):
            full_time = k == 1 and int(school_id.rsplit("s", 1)[1]) % 2 == 1
            roles = ["mh_teacher_full" if full_time else "mh_teacher_part"] + (["duty_counsellor"] if k == 1 else [])
            person(f"{school_id}-xl{k}", school_id, *roles)
    _oversight_people(person, sizing)
    for school_id in schools:  # last, so that everyone else keeps the name generated before this role existed
        person(f"{school_id}-dy", school_id, "moral_education_head")  # 德育处主任: the school's monthly check
    return directory


def _oversight_people(person: Callable[..., None], sizing: Sizing) -> None:
    """The 教研部门 (a 教研员 of the city's 教科院, of each county's 教研室) who take part in supervision, and each
    county's 纪检监察 who takes up the serious burden cases of its own checks (§四.8 各级纪检监察部门, §四.9 教研部门).

    Added after everyone else, so the names generated before them stay as they were.
    """
    person("hy-jky-jyy", "hy-jky", "researcher", role_unit=CITY[0])  # works at 教科院, takes part for the city
    for county_id, _ in COUNTIES:
        person(f"{county_id}-jys", county_id, "researcher")
        person(f"{county_id}-jjjc", county_id, "inspector")


def _contacts(n: int, person_id: str, unit_id: str) -> tuple[str | None, str]:
    """The ``n``-th person's mobile (1380013xxxx, the range Chinese test data uses: ten thousand numbers, so the
    ``full`` profile's later people have none) and e-mail address at a reserved example domain."""
    domain = "school.example" if _IN_SCHOOL.search(unit_id) else "bureau.example"
    return (f"1380013{n:04d}" if n < 10_000 else None), f"{person_id}@{domain}"


def _spread(total: int, over: int) -> list[int]:
    """``total`` split over ``over`` places as evenly as whole numbers allow, the larger shares first."""
    share, extra = divmod(total, over)
    return [share + (1 if i < extra else 0) for i in range(over)]


def _chinese(n: int) -> str:
    """1..999 in Chinese numerals (一, 十二, 一百零五), as school names write them."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    text = f"{_DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        text += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    elif hundreds and ones:
        text += "零"
    return text + (_DIGITS[ones] if ones else "")


class _Names:
    """Distinct-looking Chinese names in a fixed order."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        n = self.count
        self.count += 1
        surname = _SURNAMES[n % len(_SURNAMES)]
        first = _GIVEN[(n * 17 + n // len(_SURNAMES)) % len(_GIVEN)]
        second = _GIVEN[(n * 31 + 7 + n // len(_GIVEN)) % len(_GIVEN)]
        return surname + first + ("" if n % 3 == 0 else second)

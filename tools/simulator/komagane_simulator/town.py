"""A synthetic town shaped like Komagane: people, places and who habitually goes where.

Everything here is a pure function of `(seed, population, as_of)` through one `random.Random`,
so the same seed always plans the same town. Nothing knows server ids: entities have plan keys
(`p00042`, `hub:wellness`, …) that the loader maps to the ids the API hands out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import Any

# Daily-life areas (日常生活圏域) and districts of Komagane: 赤穂 is the centre, 中沢 and 東伊那
# lie across the Tenryū river.
DISTRICTS: tuple[tuple[str, str], ...] = (
    ("上穂", "赤穂"),
    ("北割", "赤穂"),
    ("南割", "赤穂"),
    ("小町屋", "赤穂"),
    ("市場割", "赤穂"),
    ("福岡", "赤穂"),
    ("町四区", "赤穂"),
    ("下平", "赤穂"),
    ("中沢", "中沢"),
    ("東伊那", "東伊那"),
    ("大原", "中沢"),
    ("火山", "東伊那"),
)
SHOPS = (
    "和菓子 みはらし堂",
    "珈琲 アルプス",
    "ソースかつ丼 こまくさ",
    "手芸 つむぎ",
    "写真館 すずらん",
    "酒店 天竜",
    "花屋 こぶし",
    "自転車 かっぱ",
    "茶舗 宝剣",
)
FAMILY_NAMES = ("駒ヶ根", "赤穂", "宮田", "中沢", "下平", "北原", "小原", "竹村", "気賀沢", "池上", "唐沢", "福澤", "宮下", "林", "堀", "田中", "伊藤", "小林")
GIVEN_NAMES = ("花子", "一郎", "さくら", "健太", "由美", "正", "大輔", "美穂", "翔", "陽菜", "清", "和子", "悠人", "結衣", "勝", "千代")
# Foreign residents: (language, names). Brazilian, Vietnamese, Filipino, Chinese and Nepali
# communities are the larger ones in the Ina valley.
FOREIGN = (
    ("pt-BR", ("Ana Pereira", "Lucas Oliveira", "Mariana Souza", "Rafael Lima")),
    ("vi", ("Nguyen Van Minh", "Tran Thi Lan", "Le Van Hung")),
    ("tl", ("Maria Santos", "Jose Reyes", "Liza Cruz")),
    ("zh-Hans", ("Li Wei", "Wang Fang", "Zhang Min")),
    ("ne", ("Sita Gurung", "Ram Thapa")),
    ("en", ("John Miller", "Emma Brown")),
)
# Age structure of an ageing town (five-year cohorts would be finer; these bands are what the
# platform uses): about a third aged 65+, as in Komagane.
AGE_SHARES: tuple[tuple[int, int, float], ...] = ((0, 17, 0.14), (18, 39, 0.19), (40, 64, 0.33), (65, 74, 0.16), (75, 98, 0.18))


@dataclass(frozen=True)
class Hub:
    key: str
    name_ja: str
    name_en: str
    kind: str
    area: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class Activity:
    """A weekly activity: one session every week on `weekday` at `start` for `hours`."""

    key: str
    hub: str
    title: str
    category: str
    weekday: int
    start: time
    hours: float
    capacity: int
    languages: tuple[str, ...] = ("ja",)
    is_kayoinoba: bool = False
    organiser: str | None = None  # a person's key (citizen-run) or None (JOCA runs it)
    group: str | None = None  # the citizen group behind it, if any


@dataclass(frozen=True)
class Job:
    key: str
    hub: str
    title: str
    arrangement: str
    paid: bool
    weekdays: tuple[int, ...]
    hours: float


@dataclass(frozen=True)
class Seminar:
    key: str
    shop: str  # a SHOP hub key
    title: str
    instructor: str
    capacity: int


@dataclass(frozen=True)
class Property:
    key: str
    title: str
    kind: str
    area: str
    rooms: int


@dataclass(frozen=True)
class Person:
    key: str
    display_name: str
    birth_year: int
    residency: str
    language: str
    lives_alone: bool
    district: str
    consents: tuple[str, ...]
    care_need: bool = False
    disability: bool = False
    # Habits: activity keys attended weekly with probability `attendance`.
    habits: tuple[str, ...] = ()
    attendance: float = 0.0
    visits_per_week: float = 0.0  # drop-in visits at the wellness hub or ぱとな
    volunteer_hub: str | None = None
    job: str | None = None
    walker: bool = False  # health station member wearing an activity meter
    seminars: tuple[str, ...] = ()
    # A stretch of days (offsets into the history) with no participation at all: drifting away;
    # when it ends before the history does, the person came back.
    away: tuple[int, int] | None = None
    prospect: bool = False  # thinking of moving here (migration case)

    @property
    def age_band_65_plus(self) -> bool:
        return self.birth_year <= AS_OF_YEAR_FOR_BANDS - 65


AS_OF_YEAR_FOR_BANDS = 2026  # only for the summary figures of a plan; the API computes bands itself


@dataclass
class Town:
    seed: int
    as_of: date
    people: list[Person] = field(default_factory=list)
    hubs: list[Hub] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    seminars: list[Seminar] = field(default_factory=list)
    properties: list[Property] = field(default_factory=list)

    def person(self, key: str) -> Person:
        return self._people_by_key()[key]

    def _people_by_key(self) -> dict[str, Person]:
        return {p.key: p for p in self.people}

    def summary(self) -> dict[str, float]:
        residents = [p for p in self.people if p.residency in ("RESIDENT", "TEMPORARY")]
        return {
            "people": len(self.people),
            "residents": len(residents),
            "share_65_plus": sum(1 for p in residents if p.age_band_65_plus) / max(1, len(residents)),
            "share_foreign": sum(1 for p in residents if p.language != "ja") / max(1, len(residents)),
            "living_alone_65_plus": sum(1 for p in residents if p.age_band_65_plus and p.lives_alone),
            "with_care_need_or_disability": sum(1 for p in self.people if p.care_need or p.disability),
            "visitors_and_relationship": sum(1 for p in self.people if p.residency in ("VISITOR", "RELATIONSHIP")),
            "hubs": len(self.hubs),
            "activities": len(self.activities),
        }


def plan_town(seed: int, population: int, as_of: date) -> Town:
    """The town for `seed`: `population` residents plus visitors and 関係人口 (a few percent more)."""
    if not 50 <= population <= 40_000:
        raise ValueError("population must be between 50 and 40,000")
    rng = random.Random(seed)
    town = Town(seed=seed, as_of=as_of)
    _hubs(town, population)
    people = [_resident(rng, i, as_of) for i in range(population)]
    outsiders = max(2, population // 30)
    people += [_outsider(rng, population + i, as_of) for i in range(outsiders)]
    town.people = people
    _activities_and_habits(rng, town)
    return town


def _hubs(town: Town, population: int) -> None:
    town.hubs += [
        Hub("hub:wellness", "GOTCHA!WELLNESS 駒ケ根", "GOTCHA!WELLNESS Komagane", "WELLNESS_HUB", "赤穂", ("gym", "studio", "kitchen", "cafe")),
        Hub("hub:patona", "ぱとな（市民活動支援センター）", "Patona civic activity centre", "CIVIC_CENTRE", "赤穂", ("hall", "meeting room")),
        Hub("hub:jica", "JICA駒ヶ根青年海外協力隊訓練所", "JICA Komagane", "JICA", "赤穂", ("hall",)),
    ]
    halls = min(len(DISTRICTS), max(3, population // 200))
    for name, area in DISTRICTS[:halls]:
        town.hubs.append(Hub(f"hub:hall:{name}", f"{name}公民館", f"{name} community hall", "COMMUNITY_HALL", area, ("hall", "kitchen")))
    shops = min(len(SHOPS), max(2, population // 400))
    for n, name in enumerate(SHOPS[:shops]):
        town.hubs.append(Hub(f"hub:shop:{n}", name, name, "SHOP", "赤穂", ("shop",)))


def _birth_year(rng: random.Random, as_of: date) -> int:
    pick = rng.random()
    for low, high, share in AGE_SHARES:
        if pick < share:
            return as_of.year - rng.randint(low, high)
        pick -= share
    return as_of.year - rng.randint(18, 64)


def _resident(rng: random.Random, n: int, as_of: date) -> Person:
    birth_year = _birth_year(rng, as_of)
    age = as_of.year - birth_year
    foreign = age >= 18 and rng.random() < (0.06 if age < 65 else 0.005)
    if foreign:
        language, names = rng.choice(FOREIGN)
        name = rng.choice(names)
        residency = "TEMPORARY" if rng.random() < 0.4 else "RESIDENT"
    else:
        language, name, residency = "ja", f"{rng.choice(FAMILY_NAMES)} {rng.choice(GIVEN_NAMES)}", "RESIDENT"
    district = rng.choice(DISTRICTS)[0]
    lives_alone = (age >= 75 and rng.random() < 0.3) or (65 <= age < 75 and rng.random() < 0.18) or (18 <= age < 65 and rng.random() < 0.12)
    care_need = age >= 75 and rng.random() < 0.18
    disability = age >= 18 and rng.random() < 0.06
    consents = _consents(rng, age)
    return Person(f"p{n:05d}", name, birth_year, residency, language, lives_alone, district, consents, care_need, disability)


def _outsider(rng: random.Random, n: int, as_of: date) -> Person:
    """Visitors and 関係人口: workation guests, former residents, JICA volunteers' families, prospects."""
    birth_year = as_of.year - rng.randint(22, 70)
    residency = "RELATIONSHIP" if rng.random() < 0.6 else "VISITOR"
    if rng.random() < 0.25:
        language, names = rng.choice(FOREIGN)
        name = rng.choice(names)
    else:
        language, name = "ja", f"{rng.choice(FAMILY_NAMES)} {rng.choice(GIVEN_NAMES)}"
    consents = ("PROFILE",) if rng.random() < 0.7 else ()
    return Person(f"p{n:05d}", name, birth_year, residency, language, False, "", consents, prospect=rng.random() < 0.5)


def _consents(rng: random.Random, age: int) -> tuple[str, ...]:
    consents = []
    if age >= 16 and rng.random() < 0.72:
        consents.append("PROFILE")
    if age >= 40 and rng.random() < (0.35 if age >= 65 else 0.15):
        consents.append("HEALTH")
    if age >= 65 and rng.random() < 0.2:
        consents.append("OUTREACH")
    return tuple(consents)


def _activities_and_habits(rng: random.Random, town: Town) -> None:
    people = town.people
    residents = [p for p in people if p.district]
    halls = [h for h in town.hubs if h.kind == "COMMUNITY_HALL"]
    shops = [h for h in town.hubs if h.kind == "SHOP"]
    habits: dict[str, list[str]] = {p.key: [] for p in people}
    extra: dict[str, dict[str, Any]] = {p.key: {} for p in people}

    def age(p: Person) -> int:
        return town.as_of.year - p.birth_year

    # 通いの場 clubs: each community hall holds one (two in bigger districts), run by a resident
    # leader; members are mostly 65+ from the same area.
    seniors = [p for p in residents if age(p) >= 65]
    for n, hall in enumerate(halls):
        for slot in range(2 if len(seniors) > 400 * (n + 1) else 1):
            local = [p for p in seniors if p.district == hall.key.split(":")[-1]] or seniors
            leader = rng.choice(local)
            key = f"act:kayoinoba:{n}:{slot}"
            title = rng.choice(("いきいき百歳体操", "お茶のみサロン", "脳トレ教室", "ふれあい食堂"))
            weekday, start = rng.randint(0, 4), time(rng.choice((9, 10, 13, 14)))
            town.activities.append(
                Activity(key, hall.key, f"{hall.name_ja[:-3]} {title}", "KAYOINOBA", weekday, start, 1.5, 30, ("ja",), True, leader.key, f"grp:{key}")
            )
            habits[leader.key].append(key)
            extra[leader.key]["attendance"] = 0.95
    kayoinoba = [a for a in town.activities if a.is_kayoinoba]
    for person in seniors:
        # Nationally 2.3 % of people 65+ took part in a 通いの場 (FY2022); a town that runs the
        # programme does better, so about one in ten here.
        if rng.random() < (0.1 if not person.care_need else 0.08):
            nearby = [a for a in kayoinoba if a.hub.endswith(person.district)] or kayoinoba
            habits[person.key].append(rng.choice(nearby).key)

    # JOCA's programmes at the hubs, open to every generation (ごちゃまぜ).
    shared = [
        Activity("act:wellness:taiso", "hub:wellness", "ごちゃまぜ健康体操", "SPORTS", 1, time(10), 1.0, 40),
        Activity("act:wellness:yoga", "hub:wellness", "夜のヨガ", "SPORTS", 3, time(19), 1.0, 25),
        Activity("act:wellness:cafe", "hub:wellness", "みんなの食堂", "HOBBY", 5, time(11, 30), 2.0, 60),
        Activity("act:patona:kosodate", "hub:patona", "ごちゃまぜ子育てサロン", "CHILDCARE", 2, time(10), 2.0, 30, ("ja", "en")),
        Activity("act:patona:study", "hub:patona", "放課後まなび場", "STUDY_CULTURE", 3, time(16), 2.0, 40),
        Activity("act:jica:cafe", "hub:jica", "大使村 国際交流カフェ", "INTERNATIONAL", 5, time(14), 2.0, 50, ("ja", "en", "pt-BR", "vi")),
        Activity("act:jica:nihongo", "hub:jica", "にほんご教室", "INTERNATIONAL", 6, time(10), 1.5, 30, ("ja", "en", "pt-BR", "vi", "tl", "zh-Hans", "ne")),
    ]
    town.activities += shared
    for person in people:
        a = age(person)
        if person.language != "ja" and rng.random() < 0.6:
            habits[person.key].append(rng.choice(["act:jica:cafe", "act:jica:nihongo"]))
        elif person.language == "ja" and a >= 18 and rng.random() < 0.03:
            habits[person.key].append("act:jica:cafe")  # Japanese neighbours who come to mix
        if a < 13 and rng.random() < 0.25:
            habits[person.key].append("act:patona:study")
        if 25 <= a <= 45 and rng.random() < 0.08:
            habits[person.key].append("act:patona:kosodate")
        if a >= 18 and rng.random() < (0.1 if a < 65 else 0.14):
            habits[person.key].append(rng.choice(["act:wellness:taiso", "act:wellness:yoga", "act:wellness:cafe"]))
        if person.residency == "RELATIONSHIP" and rng.random() < 0.3:
            habits[person.key].append("act:wellness:cafe")

    # Work and volunteering at the hubs (雇用の中間体制: short hours, A型/B型 with support).
    town.jobs += [
        Job("job:wellness:cafe", "hub:wellness", "ウェルネス食堂 スタッフ", "PART_TIME", True, (1, 3, 5), 4.0),
        Job("job:wellness:clean", "hub:wellness", "館内清掃（短時間）", "SHORT_TIME", True, (0, 2, 4), 2.0),
        Job("job:wellness:b", "hub:wellness", "就労継続支援B型 作業", "WELFARE_B", False, (0, 1, 2, 3), 3.0),
        Job("job:patona:office", "hub:patona", "市民活動センター 受付", "PART_TIME", True, (0, 2, 4), 5.0),
        Job("job:jica:guide", "hub:jica", "大使村ガイド（ボランティア）", "VOLUNTEER", False, (5,), 3.0),
    ]
    for person in residents:
        a = age(person)
        roll = rng.random()
        if person.disability and a < 65 and roll < 0.35:
            extra[person.key]["job"] = "job:wellness:b"
        elif 18 <= a < 80 and roll < 0.025:
            extra[person.key]["job"] = rng.choice(["job:wellness:cafe", "job:wellness:clean", "job:patona:office"])
        elif a >= 18 and roll < 0.035:
            extra[person.key]["job"] = "job:jica:guide"
        if a >= 16 and rng.random() < (0.06 if a < 65 else 0.09):
            extra[person.key]["volunteer_hub"] = rng.choice(["hub:wellness", "hub:patona", "hub:jica"] + [h.key for h in halls[:2]])
        if a >= 18 and rng.random() < 0.1:
            extra[person.key]["visits_per_week"] = rng.choice((0.5, 1.0, 1.5))
        if "HEALTH" in person.consents and rng.random() < 0.6:
            extra[person.key]["walker"] = True

    # まちゼミ: shop owners teach small free courses during the seminar month.
    owners = [p for p in residents if 30 <= age(p) < 75 and p.language == "ja"]
    for n, shop in enumerate(shops):
        for k in range(2):
            instructor = rng.choice(owners)
            topic = rng.choice(("はじめての和菓子づくり", "珈琲のおいしい淹れ方", "スマホで写真", "季節の寄せ植え", "自転車の手入れ", "日本茶の楽しみ方"))
            town.seminars.append(Seminar(f"sem:{n}:{k}", shop.key, topic, instructor.key, 12))
    for person in residents:
        if age(person) >= 16 and rng.random() < 0.05:
            extra[person.key]["seminars"] = (rng.choice(town.seminars).key,)

    town.properties += [
        Property("prop:trial:1", "お試し住宅 北割", "TRIAL_RESIDENCE", "赤穂", 3),
        Property("prop:trial:2", "お試し住宅 東伊那", "TRIAL_RESIDENCE", "東伊那", 4),
        Property("prop:guest:1", "ゲストハウス 宝剣", "GUEST_HOUSE", "赤穂", 6),
    ]
    for n in range(max(1, len(people) // 500)):
        district, area = DISTRICTS[n % len(DISTRICTS)]
        town.properties.append(Property(f"prop:akiya:{n}", f"空き家 {district} {n + 1}", "VACANT_HOUSE", area, rng.randint(3, 6)))

    town.people = [_with_habits(rng, p, habits[p.key], extra[p.key]) for p in people]


def _with_habits(rng: random.Random, person: Person, habits: list[str], extra: dict[str, Any]) -> Person:
    attendance = float(extra.get("attendance", rng.uniform(0.55, 0.9))) if habits else 0.0
    away = None
    if (habits or extra) and rng.random() < 0.15:
        start = rng.randint(7, 60)
        away = (start, start + rng.randint(21, 56))  # some come back within the history, some not
    return replace(
        person,
        habits=tuple(dict.fromkeys(habits)),
        attendance=attendance,
        away=away,
        visits_per_week=float(extra.get("visits_per_week", 0.0)),
        volunteer_hub=extra.get("volunteer_hub"),
        job=extra.get("job"),
        walker=bool(extra.get("walker", False)),
        seminars=tuple(extra.get("seminars", ())),
    )

"""Load a realistic province into the running dev platform: Hunan, its 14 cities.

    python scripts/demo.py [--seed 2021] [--gateway http://127.0.0.1:8000]

Targets come from data/targets/hunan_2021.csv (read by ``stats.task_tables``), transcribed
from 附件 2 "2021 年职业培训券推广使用任务表" of 湘人社办发〔2021〕19号, 湖南省人力资源和社会保障厅
办公室《关于推进职业技能提升行动全面推广职业培训券有关工作的通知》 (seed document
../shared/seeds/000_8964787c9003cd34.txt, lines 161-180): 万 converted to whole
numbers, 自治州 written out as 湘西土家族苗族自治州, 合计 as the 湖南省 row. The script checks that
the cities add up to it (90万 trainees, 45万 vouchers to issue, 4.5万 to use).

Everything goes through the gateway API, signed, except creating the API clients and their
keys, which are written to the gateway's database with ``gateway.cli.add_client``. Per city: two training institutions with one or two sites each,
one or two classes per institution with a schedule and a roster, a general face-value
template with a pool that some workers claim, and one targeted credit template per
(occupation, skill level) taught in the city, issued to every class roster.

Running it again adds another set: new clients, new templates and new institutions.
Every institution gets a NEW unified social credit code each run (its organisation-code
part is drawn fresh, not from the seed), so the platform's one-institution-per-code rule
never refuses a second run. Everything else (names, places, schedules, rosters, worker
ID numbers) follows ``--seed``. Platform statistics are cumulative over all runs.

Worker ID numbers are generated (valid GB 11643 check characters) and never printed in
full.
"""
import argparse
import datetime
import os
import random
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import launcher  # scripts/launcher.py, beside this file
from common.identity import Sealer, check_character, mask
from gateway.cli import add_client
from stats import task_tables
from voucher_client import VoucherClient

ROOT = Path(__file__).resolve().parent.parent
TARGETS_CSV = task_tables.HUNAN_2021
TARGET_YEAR = 2021
TABLE_TOTALS = {"planned_trainees": 900_000, "issue_target": 450_000, "use_target": 45_000}  # 合计 90 / 45 / 4.5 万
PROVINCE = ("430000", "湖南省")
CST = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Shanghai
FUNDING_SOURCE = "就业补助资金"


@dataclass(frozen=True)
class District:
    code: str
    name: str
    latitude: float
    longitude: float
    road: str


# GB/T 2260 district and county codes with approximate centres, a few per city.
DISTRICTS = {
    "430100": [District("430102", "芙蓉区", 28.1935, 112.9881, "八一路"),
               District("430104", "岳麓区", 28.2353, 112.9311, "麓山南路"),
               District("430111", "雨花区", 28.1358, 113.0356, "劳动东路"),
               District("430121", "长沙县", 28.2466, 113.0812, "星沙大道")],
    "430200": [District("430211", "天元区", 27.8268, 113.0826, "长江北路"),
               District("430203", "芦淞区", 27.7846, 113.1554, "建设南路"),
               District("430281", "醴陵市", 27.6461, 113.4971, "解放路")],
    "430300": [District("430302", "雨湖区", 27.8563, 112.9071, "韶山西路"),
               District("430304", "岳塘区", 27.8719, 112.9696, "河东大道"),
               District("430381", "湘乡市", 27.7349, 112.5354, "人民路")],
    "430400": [District("430408", "蒸湘区", 26.9114, 112.5676, "解放大道"),
               District("430407", "石鼓区", 26.9435, 112.5980, "人民路"),
               District("430481", "耒阳市", 26.4222, 112.8599, "五一路")],
    "430500": [District("430502", "双清区", 27.2325, 111.4970, "宝庆东路"),
               District("430503", "大祥区", 27.2213, 111.4393, "敏州西路"),
               District("430582", "邵东市", 27.2581, 111.7440, "人民路")],
    "430600": [District("430602", "岳阳楼区", 29.3717, 113.1293, "巴陵中路"),
               District("430611", "君山区", 29.4614, 112.9940, "君山路"),
               District("430681", "汨罗市", 28.8063, 113.0672, "人民路")],
    "430700": [District("430702", "武陵区", 29.0550, 111.6832, "人民路"),
               District("430703", "鼎城区", 29.0184, 111.6806, "鼎城路"),
               District("430723", "澧县", 29.6330, 111.7587, "澧阳路")],
    "430800": [District("430802", "永定区", 29.1190, 110.5374, "解放路"),
               District("430811", "武陵源区", 29.3461, 110.5502, "军地路"),
               District("430821", "慈利县", 29.4300, 111.1390, "人民路")],
    "430900": [District("430903", "赫山区", 28.5797, 112.3745, "桃花仑路"),
               District("430902", "资阳区", 28.5912, 112.3243, "资阳大道"),
               District("430981", "沅江市", 28.8443, 112.3550, "人民路")],
    "431000": [District("431002", "北湖区", 25.7841, 113.0111, "国庆北路"),
               District("431003", "苏仙区", 25.8004, 113.1120, "五岭大道"),
               District("431081", "资兴市", 25.9763, 113.2361, "人民路")],
    "431100": [District("431103", "冷水滩区", 26.4612, 111.5925, "零陵中路"),
               District("431102", "零陵区", 26.2213, 111.6313, "芝山路"),
               District("431126", "宁远县", 25.5705, 111.9460, "人民路")],
    "431200": [District("431202", "鹤城区", 27.5491, 109.9650, "迎丰路"),
               District("431221", "中方县", 27.4401, 109.9449, "人民路"),
               District("431281", "洪江市", 27.2088, 109.8361, "人民路")],
    "431300": [District("431302", "娄星区", 27.7300, 112.0015, "乐坪大道"),
               District("431381", "冷水江市", 27.6861, 111.4348, "人民路"),
               District("431382", "涟源市", 27.6923, 111.6642, "人民路")],
    "433100": [District("433101", "吉首市", 28.2622, 109.6981, "人民北路"),
               District("433123", "凤凰县", 27.9481, 109.5994, "虹桥路"),
               District("433127", "永顺县", 28.9996, 109.8532, "人民路")],
}
SHORT_NAMES = {"433100": "湘西州"}  # how a name prefix writes the autonomous prefecture

# Occupations (国家职业分类大典 codes) and skill levels (5 = 初级工 ... 3 = 高级工).
OCCUPATIONS = {"6-31-01-03": "电工", "4-03-02-01": "中式烹调师", "4-10-01-02": "育婴员",
               "4-10-01-05": "养老护理员", "6-18-02-04": "焊工"}
LEVELS = {5: "五级（初级工）", 4: "四级（中级工）", 3: "三级（高级工）"}
LEVEL_WEIGHTS = (3, 4, 2)
SUBSIDY_STANDARD_FEN = {5: 100_000, 4: 150_000, 3: 200_000}
FACE_VALUES_FEN = (50_000, 80_000, 100_000)

BRANDS = ("匠心", "启航", "华锦", "新程", "湘才", "德技", "恒通", "精诚", "众诚", "远航", "金蓝领", "巧手",
          "益民", "宏图", "卓越", "同创")
# Institution kinds with the credit code's first two characters (registration authority and
# kind: 52 = civil affairs, private non-enterprise unit; 91 = market regulation, enterprise)
# and the first two characters of a new organisation code (MJ civil affairs, MA enterprise).
KINDS = (("职业技能培训学校", "52", "MJ"), ("职业培训学校", "52", "MJ"), ("职业技能培训有限公司", "91", "MA"))

# -- identifiers ---------------------------------------------------------------------------

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_check(body8):
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def credit_check(first17):
    """GB 32100 check character of a unified social credit code."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code(kind_prefix, region_code, org_prefix, rng):
    body = org_prefix + "".join(rng.choice(CREDIT_ALPHABET) for _ in range(6))
    first17 = kind_prefix + region_code + body + organisation_check(body)
    return first17 + credit_check(first17)


def id_number(rng, region_code):
    """A generated resident ID number (GB 11643): region, birth date 1966-2005, sequence, check."""
    birth = datetime.date(1966, 1, 1) + datetime.timedelta(days=rng.randrange(40 * 365))
    first17 = f"{region_code}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + check_character(first17)


# -- the gateway ---------------------------------------------------------------------------

class GatewayError(SystemExit):
    pass


class Gateway:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def call(self, method, path, client, body=None):
        try:
            response = VoucherClient(self.base_url, client.key_id, client.secret, session=self.http).request(
                method, path, body)
        except requests.ConnectionError:
            raise GatewayError(f"The gateway is not reachable at {self.base_url}: start the platform with "
                               "`make up` (or set GATEWAY_URL).")
        if not response.ok:
            raise GatewayError(f"{method} {path} failed with HTTP {response.status_code}:\n{response.text}")
        return response.json()

    def check_reachable(self):
        try:
            self.http.get(self.base_url + "/openapi.json", timeout=5).raise_for_status()
        except requests.RequestException as exc:
            raise GatewayError(f"The gateway is not answering at {self.base_url} ({exc}): start the platform "
                               "with `make up` (or set GATEWAY_URL).")


class Clients:
    """API clients, with their signing keys, written straight into the gateway's database of
    the platform ``make up`` started (its secrets live in .run/dev/secrets.env)."""

    def __init__(self):
        settings = launcher.environment("dev", "gateway")
        self.engine = create_engine(settings["DATABASE_URL"])
        self.sealer = Sealer(settings["PII_ENCRYPTION_KEY"])
        self.created = Counter()

    def add(self, name, role, region_code, institution_id=None):
        try:
            with Session(self.engine) as session:
                client_id = add_client(session, self.sealer, name=name, role=role, region_code=region_code,
                                       institution_id=institution_id)
        except SQLAlchemyError as exc:
            raise SystemExit(f"Cannot create a client in the gateway database "
                             f"{self.engine.url.render_as_string(hide_password=True)}: {exc}")
        self.created[role] += 1
        return client_id


# -- the task table ------------------------------------------------------------------------

def cities_and_province(rows):
    """The table's 14 city rows and its 湖南省 row (the 合计), which the cities must add up to."""
    cities = [row for row in rows if row["region_code"] != PROVINCE[0]]
    province = next((row for row in rows if row["region_code"] == PROVINCE[0]), {})
    totals = {k: sum(r[k] for r in cities) for k in TABLE_TOTALS}
    published = {k: province.get(k) for k in TABLE_TOTALS}
    if totals != TABLE_TOTALS or published != TABLE_TOTALS:
        raise SystemExit(f"{TARGETS_CSV.name}: the cities add up to {totals} and the {PROVINCE[1]} row is "
                         f"{published}, not the table's 合计 {TABLE_TOTALS}.")
    return cities, province


def place_name(city, district):
    """How an institution's name begins: 长沙市芙蓉区, 湘西州凤凰县, or a county-level city alone (醴陵市)."""
    if district.name.endswith("市"):
        return district.name
    return SHORT_NAMES.get(city.code, city.name) + district.name


# -- what one city loads -------------------------------------------------------------------

@dataclass
class Institution:
    institution_id: str
    name: str
    district: District
    client: str
    sites: list


@dataclass
class TrainingClass:
    class_id: str
    occupation: str
    skill_level: int
    roster: list


@dataclass
class CityLoad:
    code: str
    name: str
    issue_target: int
    institutions: list = field(default_factory=list)
    classes: list = field(default_factory=list)
    claimants: list = field(default_factory=list)
    templates: int = 0
    pool: int = 0
    targeted: int = 0

    @property
    def sites(self):
        return sum(len(i.sites) for i in self.institutions)

    @property
    def roster_workers(self):
        return {n for c in self.classes for n in c.roster}


class Loader:
    def __init__(self, gateway, clients, manager, channel, rng):
        self.gateway, self.clients, self.manager, self.channel = gateway, clients, manager, channel
        self.rng = rng
        self.fresh = random.SystemRandom()  # credit codes only: new each run, see the docstring
        self.year = datetime.date.today().year
        self.people = set()  # every ID number generated this run, to keep them unique

    def load_city(self, target):
        city = CityLoad(target["region_code"], target["name"], target["issue_target"])
        for brand in self.rng.sample(BRANDS, 2):
            city.institutions.append(self.register_institution(city, brand))
        for institution in city.institutions:
            for number in range(1, self.rng.randint(1, 2) + 1):
                city.classes.append(self.register_class(city, institution, number))
        self.issue(city)
        return city

    def new_worker(self, city_code):
        while True:
            number = id_number(self.rng, self.rng.choice(DISTRICTS[city_code]).code)
            if number not in self.people:
                self.people.add(number)
                return number

    def register_institution(self, city, brand):
        district = self.rng.choice(DISTRICTS[city.code])
        kind, kind_prefix, org_prefix = self.rng.choice(KINDS)
        name = f"{place_name(city, district)}{brand}{kind}"
        sites = [self.site(city, district, suffix) for suffix in ("校区", "实训基地")[:self.rng.randint(1, 2)]]
        body = {"region_code": district.code, "name": name, "sites": sites,
                "credit_code": credit_code(kind_prefix, district.code, org_prefix, self.fresh)}
        created = self.gateway.call("POST", "/v1/institutions", self.manager, body)
        client = self.clients.add(f"演示 {name}", "institution", district.code, created["institution_id"])
        return Institution(created["institution_id"], name, district, client, created["sites"])

    def site(self, city, district, suffix):
        return {"name": f"{district.name}{suffix}",
                "address": f"{city.name}{district.name}{district.road}{self.rng.randint(1, 399)}号",
                "latitude": round(district.latitude + self.rng.uniform(-0.02, 0.02), 6),
                "longitude": round(district.longitude + self.rng.uniform(-0.02, 0.02), 6),
                "radius_m": self.rng.randrange(100, 301, 50)}

    def register_class(self, city, institution, number):
        occupation = self.rng.choice(sorted(OCCUPATIONS))
        level = self.rng.choices(sorted(LEVELS, reverse=True), LEVEL_WEIGHTS)[0]
        roster = [self.new_worker(city.code) for _ in range(self.rng.randint(10, 30))]
        body = {"site_id": self.rng.choice(institution.sites)["site_id"],
                "name": f"{OCCUPATIONS[occupation]}{LEVELS[level]}培训班 {self.year}年第{number}期",
                "occupation": occupation, "skill_level": level, "mode": "offline",
                "completion_threshold": 0.8, "sessions": self.sessions(), "roster": roster}
        created = self.gateway.call("POST", "/v1/classes", institution.client, body)
        return TrainingClass(created["class_id"], occupation, level, roster)

    def sessions(self):
        """A few sessions over the coming weeks, from a Monday, in one daily time slot."""
        today = datetime.date.today()
        first = today + datetime.timedelta(days=7 - today.weekday() + self.rng.choice((0, 7, 14)))
        gap = self.rng.choice((1, 2, 7))
        start, end = self.rng.choice(((9, 12), (14, 17), (19, 21)))
        days = [first + datetime.timedelta(days=i * gap) for i in range(self.rng.randint(3, 6))]
        return [{"starts_at": datetime.datetime(d.year, d.month, d.day, start, tzinfo=CST).isoformat(),
                 "ends_at": datetime.datetime(d.year, d.month, d.day, end, tzinfo=CST).isoformat()}
                for d in days]

    def template(self, city, name, quantity, occupation, level, **terms):
        body = {"region_code": city.code, "name": name, "occupation": occupation, "skill_level": level,
                "funding_source": FUNDING_SOURCE, "valid_from": f"{self.year}-01-01",
                "valid_until": f"{self.year}-12-31", "quantity": quantity, **terms}
        city.templates += 1
        return self.gateway.call("POST", "/v1/templates", self.manager, body)["template_id"]

    def issue(self, city):
        """A general pool some workers claim; targeted vouchers for every class roster."""
        kinds = Counter((c.occupation, c.skill_level) for c in city.classes)
        general_quantity = city.issue_target * 6 // 10
        targeted_quantity = (city.issue_target - general_quantity) // len(kinds)

        (occupation, level), _ = kinds.most_common(1)[0]
        face_value = self.rng.choice(FACE_VALUES_FEN)
        general = self.template(city, f"{city.name}{OCCUPATIONS[occupation]}通用面值券（{face_value // 100}元）",
                                general_quantity, occupation, level, function="face_value",
                                distribution="general", face_value_fen=face_value)
        city.pool = max(40, min(300, city.issue_target // 500))
        self.gateway.call("POST", f"/v1/templates/{general}/pool", self.manager, {"quantity": city.pool})

        targeted = {(occupation, level): self.template(
            city, f"{city.name}{OCCUPATIONS[occupation]}{LEVELS[level]}定向抵用券", targeted_quantity,
            occupation, level, function="credit", distribution="targeted",
            subsidy_standard_fen=SUBSIDY_STANDARD_FEN[level]) for occupation, level in kinds}
        for training_class in city.classes:
            template_id = targeted[(training_class.occupation, training_class.skill_level)]
            city.targeted += self.gateway.call("POST", f"/v1/classes/{training_class.class_id}/targeted-vouchers",
                                               self.manager, {"template_id": template_id})["issued"]

        city.claimants = [self.new_worker(city.code) for _ in range(round(city.pool * self.rng.uniform(0.3, 0.6)))]
        for worker in city.claimants:
            self.gateway.call("POST", "/v1/claims", self.channel, {"template_id": general, "id_number": worker})


# -- statistics and printing ---------------------------------------------------------------

def region_statistics(gateway, manager, region_code):
    return gateway.call("GET", f"/v1/indicators/{region_code}?year={TARGET_YEAR}", manager)


def wait_for_statistics(gateway, manager, expected, timeout=30.0):
    """Statistics are projected from events: poll until they count at least what was sent."""
    started = time.monotonic()
    while True:
        stats = region_statistics(gateway, manager, PROVINCE[0])
        if all(stats[k] >= v for k, v in expected.items()):
            return stats, time.monotonic() - started, True
        if time.monotonic() - started > timeout:
            return stats, time.monotonic() - started, False
        time.sleep(0.2)


def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cell(text, size, right=False):
    text = str(text)
    padding = " " * max(0, size - width(text))
    return padding + text if right else text + padding


def percent(rate):
    return "-" if rate is None else f"{rate:.2%}"


def print_table(rows):
    header = ("区划", "市州", "发券目标", "本次发券", "累计发券", "进度", "累计领券", "领券率")
    sizes = (7, 22, 9, 9, 9, 8, 9, 8)
    print("  " + " ".join(cell(h, s, right=i > 1) for i, (h, s) in enumerate(zip(header, sizes))))
    for row in rows:
        print("  " + " ".join(cell(v, s, right=i > 1) for i, (v, s) in enumerate(zip(row, sizes))))


def stats_row(code, name, issued_now, stats):
    target = stats["target"] or {}
    return (code, name, target.get("issue_target", "-"), issued_now, stats["issued"],
            percent(target.get("issue_progress")), stats["claimed"], percent(stats["claim_rate"]))


# -- main ----------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=2021, help="random seed for the generated data (default 2021)")
    parser.add_argument("--gateway", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"),
                        help="gateway URL (default: $GATEWAY_URL or http://127.0.0.1:8000)")
    args = parser.parse_args(argv)
    started = time.monotonic()

    targets, province_row = cities_and_province(task_tables.load_table(TARGETS_CSV))
    totals = {k: province_row[k] for k in TABLE_TOTALS}
    print(f"Task table {TARGETS_CSV.relative_to(ROOT)}: {len(targets)} cities, {totals['planned_trainees']} "
          f"trainees planned, {totals['issue_target']} vouchers to issue, {totals['use_target']} to use; "
          "equals the table's 合计 (90万 / 45万 / 4.5万).")

    gateway = Gateway(args.gateway)
    gateway.check_reachable()
    clients = Clients()
    manager = clients.add("演示 湖南省人力资源和社会保障厅", "manager", PROVINCE[0])
    channel = clients.add("演示 湖南省电子社保卡渠道", "channel", PROVINCE[0])
    loaded = gateway.call("PUT", "/v1/statistics/targets", manager,
                          {"year": TARGET_YEAR, "targets": targets + [province_row]})
    print(f"Gateway {gateway.base_url}, seed {args.seed}; {TARGET_YEAR} targets loaded for {loaded['loaded']} "
          f"regions (14 cities + {PROVINCE[1]}).")
    before = region_statistics(gateway, manager, PROVINCE[0])

    loader = Loader(gateway, clients, manager, channel, random.Random(args.seed))
    cities = []
    for target in targets:
        city = loader.load_city(target)
        cities.append(city)
        print(f"  {city.code} {cell(city.name, 22)} {len(city.institutions)} institutions, {city.sites} sites, "
              f"{len(city.classes)} classes, {len(city.roster_workers):3} trainees, {city.templates} templates; "
              f"pool {city.pool:3}, targeted {city.targeted:3}, claims {len(city.claimants):3}")

    issued = sum(c.pool + c.targeted for c in cities)
    claimed = sum(c.targeted + len(c.claimants) for c in cities)
    trainees = sum(len(c.roster_workers) for c in cities)
    claimants = sum(len(c.claimants) for c in cities)
    example = next(iter(cities[0].claimants or cities[0].roster_workers))
    print(f"\nLoaded {len(cities)} cities, {sum(len(c.institutions) for c in cities)} institutions, "
          f"{sum(c.sites for c in cities)} sites, {sum(len(c.classes) for c in cities)} classes, "
          f"{trainees + claimants} workers ({trainees} on rosters, {claimants} claiming; e.g. {mask(example)}), "
          f"{sum(c.templates for c in cities)} templates.")
    print(f"Vouchers issued {issued} (pool {sum(c.pool for c in cities)}, targeted {sum(c.targeted for c in cities)}), "
          f"claimed {claimed} (targeted are born claimed). Clients created: "
          + ", ".join(f"{n} {role}" for role, n in clients.created.items()) + f"; manager client {manager.client_id}.")

    expected = {"issued": before["issued"] + issued, "claimed": before["claimed"] + claimed}
    province, waited, caught_up = wait_for_statistics(gateway, manager, expected)
    status = f"caught up in {waited:.1f} s" if caught_up else f"NOT caught up after {waited:.0f} s"
    print(f"\nStatistics for {TARGET_YEAR} (GET /v1/indicators/<code>?year={TARGET_YEAR}; totals cover every "
          f"run so far; {status}):")
    rows = [stats_row(c.code, c.name, c.pool + c.targeted, region_statistics(gateway, manager, c.code))
            for c in cities]
    print_table(rows + [stats_row(PROVINCE[0], PROVINCE[1], issued, province)])
    print(f"\nDone in {time.monotonic() - started:.1f} s.")
    return 0 if caught_up else 1


if __name__ == "__main__":
    sys.exit(main())

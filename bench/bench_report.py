"""A province's monthly supervision report (月调度) over 10,000,000 vouchers: each op is a signed
``GET /v1/reports/monthly/650000?month=2025-12`` answered 200 — the gateway's check, the RPC, the
statistics service summing its read model per city in SQL and building the report — made one
after another, beside the raw limit: the statements ``stats.operations.monthly_report`` issues
(the aggregate per child region, then the year's targets), run on PostgreSQL directly, one after
another, in a transaction each as the service does. The issue's target is an answer in under
500 ms; this prints, never asserts.

    .venv/bin/python bench/bench_report.py
    REQUESTS=500 MONTH=2025-06 .venv/bin/python bench/bench_report.py

Generated data. The report never reads a voucher: statistics answers it from the rows its event
handlers keep, ``monthly_counts`` (one per region, template and China-time month with anything
counted), and ``targets``. So "a report over 10,000,000 vouchers" is a report over the rows that
10,000,000 vouchers leave there, and those rows are generated straight into ``vt_statistics``
with COPY, consistent with what the handlers would have counted (``voucher_counts`` holds each
template's months summed): issuing, claiming and using 10,000,000 vouchers through the platform
would take hours on this machine and end in the same rows. The province is Xinjiang (650000),
which nothing else in the project uses: its 14 prefectures and the directly administered cities
(6590xx, one child row), 106 counties with their real codes; 3 templates province-wide, 1–3 per
prefecture and 28–60 per county (4,876 in all), nearly every template counting something in each
of the 12 months of 2025 (58,509 rows in ``monthly_counts``, 4,876 in ``voucher_counts``); 10,000,000
vouchers issued in all, 9.16 million claimed, 5.93 million used, 4.73 million settled (7.5 billion
yuan), the rest voided, returned or expired at the year's end; and the 2025 targets of the
province, its prefectures and counties (122 rows, plan × 50 %, × 10 %). The default month is
December 2025, whose year to date covers every row and all 10,000,000 vouchers; the answer's
total is checked against the generated figures (a wrong total counts as an error).

The generation is deterministic (seeded): a run finds the province's rows already there with the
expected counts and sums and leaves them, else deletes the province's rows (``65%``) and writes
them again in one transaction (about 2 s), then VACUUM ANALYZE. The rows are left in place
afterwards, under a province no other benchmark or test counts in; rebuilding statistics from
events would drop them, and the next run writes them again.
"""
import datetime
import os
import random
import sys
import time
import uuid

import harness
from stats.domain import monthly

REQUESTS = int(os.environ.get("REQUESTS", 200))
WARMUP = int(os.environ.get("WARMUP", 10))
MONTH = os.environ.get("MONTH", "2025-12")
PROVINCE, YEAR, VOUCHERS, SEED = "650000", 2025, 10_000_000, 8  # issue 8
COUNTS = monthly.COUNTS

# GB/T 2260 codes of Xinjiang: prefecture-level code -> (name, its counties "suffix name ...").
XINJIANG = {
    "650100": ("乌鲁木齐市", "02 天山区 03 沙依巴克区 04 新市区 05 水磨沟区 06 头屯河区 07 达坂城区 09 米东区 21 乌鲁木齐县"),
    "650200": ("克拉玛依市", "02 独山子区 03 克拉玛依区 04 白碱滩区 05 乌尔禾区"),
    "650400": ("吐鲁番市", "02 高昌区 21 鄯善县 22 托克逊县"),
    "650500": ("哈密市", "02 伊州区 21 巴里坤哈萨克自治县 22 伊吾县"),
    "652300": ("昌吉回族自治州", "01 昌吉市 02 阜康市 23 呼图壁县 24 玛纳斯县 25 奇台县 27 吉木萨尔县 28 木垒哈萨克自治县"),
    "652700": ("博尔塔拉蒙古自治州", "01 博乐市 02 阿拉山口市 22 精河县 23 温泉县"),
    "652800": ("巴音郭楞蒙古自治州", "01 库尔勒市 22 轮台县 23 尉犁县 24 若羌县 25 且末县 26 焉耆回族自治县 27 和静县 "
                             "28 和硕县 29 博湖县"),
    "652900": ("阿克苏地区", "01 阿克苏市 02 库车市 22 温宿县 24 沙雅县 25 新和县 26 拜城县 27 乌什县 28 阿瓦提县 29 柯坪县"),
    "653000": ("克孜勒苏柯尔克孜自治州", "01 阿图什市 22 阿克陶县 23 阿合奇县 24 乌恰县"),
    "653100": ("喀什地区", "01 喀什市 21 疏附县 22 疏勒县 23 英吉沙县 24 泽普县 25 莎车县 26 叶城县 27 麦盖提县 28 岳普湖县 "
                       "29 伽师县 30 巴楚县 31 塔什库尔干塔吉克自治县"),
    "653200": ("和田地区", "01 和田市 21 和田县 22 墨玉县 23 皮山县 24 洛浦县 25 策勒县 26 于田县 27 民丰县"),
    "654000": ("伊犁哈萨克自治州", "02 伊宁市 03 奎屯市 04 霍尔果斯市 21 伊宁县 22 察布查尔锡伯自治县 23 霍城县 24 巩留县 "
                            "25 新源县 26 昭苏县 27 特克斯县 28 尼勒克县"),
    "654200": ("塔城地区", "01 塔城市 02 乌苏市 03 沙湾市 21 额敏县 24 托里县 25 裕民县 26 和布克赛尔蒙古自治县"),
    "654300": ("阿勒泰地区", "01 阿勒泰市 21 布尔津县 22 富蕴县 23 福海县 24 哈巴河县 25 青河县 26 吉木乃县"),
    "659000": ("自治区直辖县级行政区划", "01 石河子市 02 阿拉尔市 03 图木舒克市 04 五家渠市 05 北屯市 06 铁门关市 07 双河市 "
                                 "08 可克达拉市 09 昆玉市 10 胡杨河市"),
}
# Vouchers issued per month, relative: little around the Spring Festival, most in spring and autumn.
SEASON = (0.6, 0.4, 1.0, 1.2, 1.2, 1.1, 0.8, 0.8, 1.2, 1.1, 1.0, 0.7)
STANDARDS_FEN = (80_000, 100_000, 120_000, 150_000, 200_000, 300_000)


def apportion(total, weights):
    """``total`` split in proportion to ``weights`` as whole numbers that add up to it (largest remainder)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[:total - sum(counts)]:
        counts[i] += 1
    return counts


def regions():
    """[(code, name, level)] of the province, its prefectures and its counties."""
    found = [(PROVINCE, "新疆维吾尔自治区", "province")]
    for city, (name, counties) in XINJIANG.items():
        found.append((city, name, "city"))
        parts = counties.split()
        found += [(city[:4] + suffix, county, "county") for suffix, county in zip(parts[::2], parts[1::2])]
    return found


def read_model():
    """The rows statistics would hold after the year: (monthly_counts rows, voucher_counts rows,
    targets rows), each a tuple in the tables' column order below."""
    rng = random.Random(SEED)
    templates = []  # (region, template_id, function, distribution, standard, weight)
    for code, _, level in regions():
        size = rng.lognormvariate(0, 0.7)
        count = {"province": 3, "city": rng.randint(1, 3), "county": rng.randint(28, 60)}[level]
        for _ in range(count):
            templates.append((code, uuid.UUID(int=rng.getrandbits(128), version=4),
                              "face_value" if rng.random() < 0.3 else "credit",
                              "targeted" if rng.random() < 0.55 else "general",
                              rng.choice(STANDARDS_FEN), size * rng.lognormvariate(0, 0.9)))
    issued_per_template = apportion(VOUCHERS, [t[5] for t in templates])
    months = [datetime.date(YEAR, m, 1) for m in range(1, 13)]
    monthly_rows, totals = [], []
    for (code, template_id, function, distribution, standard, _), issued_total in zip(templates, issued_per_template):
        issued = apportion(issued_total, [s * rng.uniform(0.5, 1.5) for s in SEASON])
        targeted = distribution == "targeted"
        claim_rate, use_rate = rng.uniform(0.75, 0.95), rng.uniform(0.75, 0.92) if targeted else rng.uniform(0.45, 0.75)
        claimed, used, settled, voided, returned = [], [], [], [], []
        for m in range(12):
            # A targeted voucher is claimed when issued (one transaction); a general one within weeks.
            gross = issued[m] if targeted else int(claim_rate * (0.6 * issued[m] + 0.4 * (issued[m - 1] if m else 0)))
            returned.append(0 if targeted else int(0.008 * gross))
            claimed.append(gross - returned[m])
            voided.append(int(0.003 * claimed[m - 1]) if m else 0)
            used.append(int(use_rate * (0.5 * (claimed[m - 1] if m else 0) + 0.5 * (claimed[m - 2] if m > 1 else 0))))
            settled.append(int(0.9 * used[m - 1]) if m else 0)
        expired = [0] * 11 + [sum(claimed) - sum(used) - sum(voided)]  # the rest lapse with the year
        per_month = list(zip(issued, claimed, used, settled, [n * standard for n in settled], voided, returned,
                             expired))
        monthly_rows += [(code, template_id, month, function, distribution, *counts)
                         for month, counts in zip(months, per_month) if any(counts)]
        totals.append((code, template_id, function, distribution, *map(sum, zip(*per_month))))
    issued_in = {}  # vouchers issued in each region, its children's included
    for code, *_, issued_total in ((row[0], row[4]) for row in totals):
        for region in {code, code[:4] + "00", PROVINCE}:
            issued_in[region] = issued_in.get(region, 0) + issued_total
    target_rows = []
    for code, name, _ in regions():
        planned = 2 * int(issued_in.get(code, 0) * rng.uniform(0.95, 1.25))
        issue_target = planned * 50 // 100
        target_rows.append((YEAR, code, name, planned, issue_target, issue_target * 10 // 100))
    return monthly_rows, totals, target_rows


MONTHLY_COLUMNS = ("region_code", "template_id", "month", "function", "distribution", *COUNTS)
TOTAL_COLUMNS = ("region_code", "template_id", "function", "distribution", *COUNTS)
TARGET_COLUMNS = ("year", "region_code", "name", "planned_trainees", "issue_target", "use_target")
PATTERN = PROVINCE[:2] + "%"


def fingerprint(cursor):
    """What the province's rows add up to in the database, in ``expected``'s shape."""
    sums = ", ".join(f"coalesce(sum({name}), 0)" for name in COUNTS)
    cursor.execute(f"SELECT count(*), {sums} FROM monthly_counts WHERE region_code LIKE %s", (PATTERN,))
    found = [tuple(map(int, cursor.fetchone()))]
    cursor.execute(f"SELECT count(*), {sums} FROM voucher_counts WHERE region_code LIKE %s", (PATTERN,))
    found.append(tuple(map(int, cursor.fetchone())))
    cursor.execute("SELECT count(*), coalesce(sum(issue_target), 0) FROM targets WHERE year = %s AND region_code LIKE %s",
                   (YEAR, PATTERN))
    found.append(tuple(map(int, cursor.fetchone())))
    return found


def expected(monthly_rows, totals, target_rows):
    return [(len(monthly_rows), *[sum(r[5 + i] for r in monthly_rows) for i in range(len(COUNTS))]),
            (len(totals), *[sum(r[4 + i] for r in totals) for i in range(len(COUNTS))]),
            (len(target_rows), sum(r[4] for r in target_rows))]


def _copy(cursor, table, columns, rows):
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", harness._tsv(rows))


def ensure_read_model():
    """The province's rows in ``vt_statistics``, written unless already there. Returns the monthly rows."""
    import psycopg2
    started = time.perf_counter()
    monthly_rows, totals, target_rows = read_model()
    want = expected(monthly_rows, totals, target_rows)
    connection = psycopg2.connect(harness.psycopg2_dsn("statistics"))
    try:
        with connection.cursor() as cursor:
            if fingerprint(cursor) == want:
                harness.note(f"read model of {PROVINCE} already in vt_statistics ({len(monthly_rows)} monthly rows, "
                             f"{len(totals)} templates, {len(target_rows)} targets); generated and checked in "
                             f"{time.perf_counter() - started:.1f} s")
                return monthly_rows
            for table in ("monthly_counts", "voucher_counts"):
                cursor.execute(f"DELETE FROM {table} WHERE region_code LIKE %s", (PATTERN,))
            cursor.execute("DELETE FROM targets WHERE year = %s AND region_code LIKE %s", (YEAR, PATTERN))
            _copy(cursor, "monthly_counts", MONTHLY_COLUMNS, monthly_rows)
            _copy(cursor, "voucher_counts", TOTAL_COLUMNS, totals)
            _copy(cursor, "targets", TARGET_COLUMNS, target_rows)
            if fingerprint(cursor) != want:
                raise SystemExit("the generated read model did not add up after COPY")
        connection.commit()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE monthly_counts")
            cursor.execute("VACUUM ANALYZE voucher_counts")
        harness.note(f"read model of {PROVINCE} written to vt_statistics: {len(monthly_rows)} monthly rows, "
                     f"{len(totals)} templates in voucher_counts, {len(target_rows)} targets, "
                     f"{want[0][1]} vouchers issued, in {time.perf_counter() - started:.1f} s")
        return monthly_rows
    finally:
        connection.close()


def raw_statements(region_code, month):
    """The two statements ``stats.operations.monthly_report`` issues, as SQLAlchemy renders them."""
    first = monthly.parse_month(month)
    in_month = [f"sum({name}) FILTER (WHERE month = %(month)s)" for name in COUNTS]
    to_date = [f"sum({name})" for name in COUNTS]
    aggregate = (f"SELECT rpad(substr(region_code, 1, %(length)s), 6, '0'), {', '.join(in_month + to_date)}, "
                 "sum(issued) FILTER (WHERE function = 'face_value'), "
                 "sum(issued) FILTER (WHERE distribution = 'general') "
                 "FROM monthly_counts WHERE region_code LIKE %(pattern)s AND month BETWEEN %(january)s AND %(month)s "
                 "GROUP BY rpad(substr(region_code, 1, %(length)s), 6, '0')")
    targets = (f"SELECT {', '.join(TARGET_COLUMNS)} FROM targets "
               "WHERE year = %(year)s AND region_code LIKE %(pattern)s")
    parameters = {"length": monthly.child_length(region_code), "pattern": PATTERN, "month": first,
                  "january": first.replace(month=1), "year": first.year}
    return aggregate, targets, parameters


def raw_report(count):
    """Latencies (ms) of ``count`` transactions running the report's two statements, one after another."""
    import psycopg2
    aggregate, targets, parameters = raw_statements(PROVINCE, MONTH)
    connection = psycopg2.connect(harness.psycopg2_dsn("statistics"))
    latencies = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + aggregate, parameters)
            plan = [row[0] for row in cursor.fetchall()]
            connection.commit()
            harness.note("plan of the aggregate: " + " | ".join(
                line.strip() for line in plan if any(word in line for word in ("Scan", "Aggregate", "Buffers",
                                                                                "Execution", "rows=")))[:900])
            for index in range(WARMUP + count):
                began = time.perf_counter()
                cursor.execute(aggregate, parameters)
                cursor.fetchall()
                cursor.execute(targets, parameters)
                cursor.fetchall()
                connection.commit()
                if index >= WARMUP:
                    latencies.append(1000 * (time.perf_counter() - began))
    finally:
        connection.close()
    return latencies


def main():
    harness.require_platform()
    monthly_rows = ensure_read_model()
    first = monthly.parse_month(MONTH)
    want_to_date = sum(r[5] for r in monthly_rows if datetime.date(first.year, 1, 1) <= r[2] <= first)
    want_month = sum(r[5] for r in monthly_rows if r[2] == first)
    read = [r[0] for r in monthly_rows if datetime.date(first.year, 1, 1) <= r[2] <= first]
    harness.note(f"report of {PROVINCE} for {MONTH}: {want_to_date} vouchers issued in the year to date "
                 f"({want_month} in the month), summed from {len(read)} monthly rows into "
                 f"{len({monthly.child_of(PROVINCE, code) for code in read})} rows (the prefectures and the "
                 "province's own templates)")

    manager = harness.add_client("manager", PROVINCE)
    gateway = harness.signed(manager)
    path = f"/v1/reports/monthly/{PROVINCE}"

    def ask():
        began = time.perf_counter()
        response = gateway.get(path, params={"month": MONTH})
        elapsed = 1000 * (time.perf_counter() - began)
        if response.status_code != 200:
            return elapsed, f"{response.status_code} {response.text[:200]}"
        total = response.json()["total"]
        if (total["to_date"]["issued"], total["month"]["issued"]) != (want_to_date, want_month):
            return elapsed, f"wrong total {total['to_date']['issued']}/{total['month']['issued']}"
        return elapsed, None

    first_answer, problem = ask()
    harness.note(f"first answer in {first_answer:.0f} ms{f': {problem}' if problem else ''}")
    harness.wait_machine_quiet()
    for _ in range(WARMUP):
        ask()
    meter = harness.CpuMeter()
    before = harness.entrypoint_times()
    meter.mark("start")
    began = time.perf_counter()
    latencies, errors = [], {}
    for _ in range(REQUESTS):
        elapsed, problem = ask()
        if problem:
            errors[problem] = errors.get(problem, 0) + 1
        else:
            latencies.append(elapsed)
    wall = time.perf_counter() - began
    meter.mark("end")
    after = harness.entrypoint_times()
    harness.note(f"{REQUESTS} reports one after another in {wall:.1f} s; errors: {errors or 'none'}")
    harness.note(f"CPU while reporting: {meter.describe('start', 'end')}")
    harness.note("server side, mean per call: " + harness.describe_entrypoints(before, after, [
        ("gateway", "monthly_report"), ("statistics", "monthly_report")]))

    path, params = f"/v1/reports/monthly/{PROVINCE}", {"month": MONTH, "format": "xlsx"}
    times, statuses = [], {}
    for _ in range(20):
        began = time.perf_counter()
        response = gateway.get(path, params=params)
        times.append(1000 * (time.perf_counter() - began))
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    harness.note(f"workbook GET {path} {params}: 20 one after another, p50 {harness.percentile(times, 50):.0f} ms, "
                 f"p99 {harness.percentile(times, 99):.0f} ms, {len(response.content)} bytes, statuses {statuses}")

    raw = raw_report(REQUESTS)
    harness.note(f"raw: the report's two statements on PostgreSQL, {REQUESTS} one after another: "
                 f"p50 {harness.percentile(raw, 50):.1f} ms, p99 {harness.percentile(raw, 99):.1f} ms")
    harness.report("report", ops_per_s=len(latencies) / wall, latencies_ms=latencies,
                   raw_ops_per_s=len(raw) / (sum(raw) / 1000), errors=sum(errors.values()))


if __name__ == "__main__":
    sys.exit(main())

"""CSV uploads for the batch endpoints, as spreadsheets export them: UTF-8 with or without a
byte-order mark (GB18030 when the request says ``charset=gb18030``), a header row naming the
columns in any order, then one row per record. Each row becomes the dict a JSON row would be,
so that it is checked exactly as one; ``locate`` then numbers the answer by the file's data
rows and gives each refused row its line, to find it in the spreadsheet."""
import csv
import io
from dataclasses import dataclass

from common.errors import InvalidInput

MAX_ROWS = 1000
ENCODINGS = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030"}
TRAINEES = ("id_number", "name", "employer_type")
INSTITUTIONS = ("region_code", "name", "credit_code", "site_name", "site_address", "latitude", "longitude", "radius_m")
_SITE = {"name": "site_name", "address": "site_address", "latitude": "latitude", "longitude": "longitude",
         "radius_m": "radius_m"}


@dataclass(frozen=True)
class Upload:
    body: dict   # the JSON body the file stands for
    rows: list   # per record of the body: its (first) data row, 0 = the first after the header
    lines: list  # per record: that row's line in the file, 1 = the header


def read(raw, charset, columns, optional=(), max_rows=MAX_ROWS):
    """The data rows as (line, {column: cell}), blank rows skipped and empty cells left out;
    a file that is not such a CSV is refused whole."""
    encoding = ENCODINGS.get(charset.lower())
    if encoding is None:
        raise InvalidInput("invalid_csv", "Send the file as text/csv; charset=utf-8 or charset=gb18030.")
    try:
        text = raw.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        hint = "; a file saved as GBK or GB18030 needs text/csv; charset=gb18030" if encoding == "utf-8-sig" else ""
        raise InvalidInput("invalid_csv", f"The file is not valid {encoding.removesuffix('-sig').upper()} "
                                          f"(at byte {exc.start}){hint}.")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        while header and not header[-1]:
            header.pop()
        _check_header(header, columns, optional)
        line = reader.line_num + 1
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if any(cells):
                if any(cells[len(header):]):
                    raise InvalidInput("invalid_csv", f"Line {line} has more cells than the header names; quote a "
                                                      "cell that holds a comma.", {"line": line})
                if len(rows) == max_rows:
                    raise InvalidInput("too_many_rows", f"A file holds at most {max_rows:,} data rows; split it.",
                                       {"max_rows": max_rows})
                rows.append((line, {name: cell for name, cell in zip(header, cells) if cell}))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidInput("invalid_csv", f"Line {reader.line_num} is not CSV: {exc}.", {"line": reader.line_num})
    if not rows:
        raise InvalidInput("invalid_csv", "The file has no data rows under its header.")
    return rows


def _check_header(header, columns, optional):
    missing = [name for name in columns if name not in header and name not in optional]
    unknown = [name[:40] for name in header if name not in columns][:10]  # the first few, shortened: not an echo
    repeated = [name for name in columns if header.count(name) > 1]
    if missing or unknown or repeated:
        problems = [f"{what}: {', '.join(repr(n) for n in names)}" for what, names in
                    (("missing", missing), ("unknown", unknown), ("repeated", repeated)) if names]
        raise InvalidInput("csv_header", f"The first line must name the columns {', '.join(columns)}; "
                                         f"{'; '.join(problems)}.",
                           {"missing": missing, "unknown": unknown, "repeated": repeated, "columns": list(columns)})


def trainees(raw, charset="utf-8"):
    """Columns: id_number, name and employer_type (both optional). One trainee per row."""
    rows = read(raw, charset, TRAINEES, optional={"name", "employer_type"})
    return Upload({"trainees": [cells for _, cells in rows]}, list(range(len(rows))), [line for line, _ in rows])


def institutions(raw, charset="utf-8"):
    """Columns: region_code, name, credit_code, site_name, site_address, latitude, longitude,
    radius_m. One training site per row: rows with the same credit_code (and the same region_code
    and name) are one institution with several sites, answered at its first row."""
    records, rows, lines = {}, [], []
    for index, (line, cells) in enumerate(read(raw, charset, INSTITUTIONS)):
        key = (cells.get("region_code"), cells.get("name"), cells.get("credit_code"))
        if key not in records:
            records[key] = {**{name: cells[name] for name in ("region_code", "name", "credit_code") if name in cells},
                            "sites": []}
            rows.append(index)
            lines.append(line)
        records[key]["sites"].append({field: cells[column] for field, column in _SITE.items() if column in cells})
    return Upload({"institutions": list(records.values())}, rows, lines)


MAX_CODES = 10_000  # an application of a large class, in one file


def voucher_codes(raw, charset="utf-8"):
    """Columns: code. One used voucher per row, as the institution's roster exports them; the
    answer's lines follow the file's data rows in order."""
    rows = read(raw, charset, ("code",), max_rows=MAX_CODES)
    return Upload({"codes": [cells.get("code", "") for _, cells in rows]}, list(range(len(rows))),
                  [line for line, _ in rows])


def payment_results(raw, charset="utf-8"):
    """Columns: instruction_id, status (paid or failed), bank_reference (optional). The bank's
    answer to a payment file, one instruction per row."""
    rows = read(raw, charset, ("instruction_id", "status", "bank_reference"), optional={"bank_reference"},
                max_rows=MAX_CODES)
    return Upload({"results": [cells for _, cells in rows]}, list(range(len(rows))), [line for line, _ in rows])


def locate(report, upload):
    """A batch's answer numbered by the file (``upload``; ``None`` for a JSON body): each row
    by its record's (first) data row, and a refused one with its ``line``."""
    if upload is not None:
        for row in report["rows"]:
            index = row["row"]
            row["row"] = upload.rows[index]
            if row["status"] == "refused":
                row["line"] = upload.lines[index]
    return report

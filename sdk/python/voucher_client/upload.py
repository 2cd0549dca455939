"""Upload a large CSV (trainees, institutions) to a batch endpoint, 1,000 rows a request,
with a progress bar, and safe to run again after a dropped connection or a crash:

    VT_BASE_URL=https://… VT_KEY_ID=k_… VT_SECRET=… \\
        python -m voucher_client.upload trainees.csv /v1/classes/<class_id>/trainees

Each part's Idempotency-Key is derived from the file's content, the endpoint and the part,
so running the same upload again replays the answers already given instead of acting twice.
Refused rows are listed with their line in the original file.
"""
import argparse
import csv
import hashlib
import io
import os
import sys
import time

from voucher_client import VoucherClient

PART_ROWS = 1000  # the batch endpoints' limit


def parts(text, size=PART_ROWS):
    """Split CSV text into (part text, original line of each data row), each part with the header."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return
    rows, lines = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        rows.append(row)
        lines.append(reader.line_num)
        if len(rows) == size:
            yield _write(header, rows), lines
            rows, lines = [], []
    if rows:
        yield _write(header, rows), lines


def _write(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def upload(client, path, text, *, progress=None, retries=5):
    """Send every part; returns the counts per status and the refused rows with their original
    line. A part that fails with 429, 503 or a dropped connection is sent again with its key."""
    file_key = hashlib.sha256(f"{path}\n{text}".encode()).hexdigest()[:32]
    totals, refused = {}, []
    chunks = list(parts(text))
    for number, (part, lines) in enumerate(chunks):
        answer = _send(client, path, part, f"upload-{file_key}-{number}", retries)
        for row in answer["rows"]:
            totals[row["status"]] = totals.get(row["status"], 0) + 1
            if row["status"] == "refused":
                refused.append({**row, "line": lines[row["row"]]})
        if progress:
            progress(number + 1, len(chunks))
    return totals, refused


def _send(client, path, part, key, retries):
    for attempt in range(retries + 1):
        try:
            response = client.post_csv(path, part, idempotency_key=key)
        except OSError:  # requests' connection errors are OSErrors
            response = None
        if response is not None and response.status_code not in (429, 502, 503, 504):
            if response.status_code >= 400:
                raise SystemExit(f"refused: {response.status_code} {response.text}")
            return response.json()
        if attempt < retries:
            wait = int(response.headers.get("Retry-After", 1)) if response is not None else 2 ** attempt
            time.sleep(wait)
    raise SystemExit("the platform did not answer; run the same upload again to go on where it stopped")


def bar(done, total, unit="parts", out=sys.stderr, width=40):
    filled = width * done // total if total else width
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit}")
    if done == total:
        out.write("\n")
    out.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", help="the CSV file (UTF-8, or GB18030 with --charset gb18030)")
    parser.add_argument("path", help="the batch endpoint, e.g. /v1/classes/<class_id>/trainees")
    parser.add_argument("--charset", default="utf-8")
    args = parser.parse_args(argv)
    with open(args.csv, "rb") as file:
        text = file.read().decode("utf-8-sig" if args.charset.lower() == "utf-8" else args.charset)
    client = VoucherClient(os.environ["VT_BASE_URL"], os.environ["VT_KEY_ID"], os.environ["VT_SECRET"])
    totals, refused = upload(client, args.path, text, progress=bar)
    print(", ".join(f"{status}: {count}" for status, count in sorted(totals.items())))
    for row in refused:
        print(f"line {row['line']}: {row.get('error')}: {row.get('message')}")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())

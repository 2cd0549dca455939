"""Start a bulk issuance job (批量发券任务), or follow one, with a progress bar:

    export VT_BASE_URL=https://… VT_KEY_ID=k_… VT_SECRET=…
    python -m voucher_client.jobs start <template_id> --quantity 450000
    python -m voucher_client.jobs start <template_id> --classes classes.txt   # one class id a line
    python -m voucher_client.jobs watch <job_id>

``start`` sends the job with an Idempotency-Key derived from what it asks, so running the same
command again after a dropped connection finds the same job instead of starting a second one;
both then follow the job until it is done or stopped, and list what was refused.
"""
import argparse
import hashlib
import json
import os
import sys
import time

from voucher_client import VoucherClient
from voucher_client.upload import bar

FINISHED = ("done", "stopped")


def start(client, template_id, quantity=None, class_ids=None):
    body = {"template_id": template_id, **({"quantity": quantity} if quantity else {"class_ids": class_ids})}
    key = "job-" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    return _answer(client.post("/v1/issuance-jobs", body, idempotency_key=key))


def follow(client, job_id, progress=None, interval=1.0):
    """Poll the job until it finishes; ``progress(done, total, unit)`` after each look."""
    while True:
        job = _answer(client.get(f"/v1/issuance-jobs/{job_id}"))
        if progress:
            progress(job["progress"]["done"], job["progress"]["total"], job["progress"]["unit"])
        if job["status"] in FINISHED:
            return job
        time.sleep(interval)


def _answer(response):
    if response.status_code >= 400:
        raise SystemExit(f"refused: {response.status_code} {response.text}")
    return response.json()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    started = commands.add_parser("start", help="start a job and follow it")
    started.add_argument("template_id")
    kind = started.add_mutually_exclusive_group(required=True)
    kind.add_argument("--quantity", type=int, help="a pool of this many vouchers (general template)")
    kind.add_argument("--classes", help="a file of class ids, one a line (targeted template)")
    commands.add_parser("watch", help="follow a job").add_argument("job_id")
    args = parser.parse_args(argv)
    client = VoucherClient(os.environ["VT_BASE_URL"], os.environ["VT_KEY_ID"], os.environ["VT_SECRET"])
    if args.command == "start":
        class_ids = None
        if args.classes:
            with open(args.classes, encoding="utf-8") as file:
                class_ids = [line.strip() for line in file if line.strip()]
        job_id = start(client, args.template_id, args.quantity, class_ids)["job_id"]
        print(f"job {job_id}", file=sys.stderr)
    else:
        job_id = args.job_id
    job = follow(client, job_id, progress=lambda done, total, unit: bar(done, total, unit))
    if job["progress"]["done"] < job["progress"]["total"]:
        sys.stderr.write("\n")  # a stopped job leaves the bar short of its end
    print(f"{job['status']}: {job['issued']} vouchers issued")
    for refusal in job["refusals"]:
        print(f"{refusal.get('class_id', 'pool')}: {refusal['error']}: {refusal['message']}")
    return 0 if job["status"] == "done" and not job["refusals"] else 1


if __name__ == "__main__":
    sys.exit(main())

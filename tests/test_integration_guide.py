"""The integrator's guide's curl function (docs/integration.md) signs requests the gateway
accepts: the shell code is taken from the guide itself, so the guide cannot drift."""
import datetime
import json
import re
import subprocess

from tests import lifecycle
from tests.platform import new_region

import launcher  # scripts/launcher.py, put on sys.path by conftest

YEAR = datetime.date.today().year


def guide_function():
    guide = (launcher.ROOT / "docs" / "integration.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", guide, re.S) if "vt() {" in b)
    return block[block.index("vt() {"):block.index("\n}\n") + 3]


def vt(gateway, client, *args):
    script = guide_function() + 'vt "$@"\n'
    env = {"PATH": "/usr/bin:/bin", "KEY_ID": client.key_id, "SECRET": client.secret, "BASE": gateway.base_url}
    result = subprocess.run(["bash", "-c", script, "vt", *args], env=env, capture_output=True, text=True,
                            timeout=30, check=True)
    return json.loads(result.stdout)


def test_the_guides_curl_function_reads_and_writes(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    stats = vt(gateway, p.manager, "GET", f"/v1/indicators/{p.region}", f"year={YEAR}")
    assert stats["region_code"] == p.region
    template = vt(gateway, p.manager, "POST", "/v1/templates", "", json.dumps({
        "region_code": p.region, "name": "电工通用券", "function": "face_value", "distribution": "general",
        "face_value_fen": 50000, "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL,
        "funding_source": "就业补助资金", "valid_from": f"{YEAR}-01-01", "valid_until": f"{YEAR}-12-31",
        "quantity": 10}, ensure_ascii=False))
    assert template["name"] == "电工通用券"
    listed = vt(gateway, p.manager, "GET", "/v1/templates", f"distribution=general&limit=5&region_code={p.region}")
    assert [t["template_id"] for t in listed["items"]] == [template["template_id"]]

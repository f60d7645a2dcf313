"""Runs schemathesis against Cairn's OpenAPI 3.0 document and sums up what it found.

Usage: schemathesis_run.py --api http://ADDR/ogc/api --report-dir DIR [--examples N] [--seed S]
                           [--header "Authorization: Bearer SECRET"] [--timeout SECONDS]

schemathesis generates requests for every operation of the document (valid and invalid ones)
and checks each answer: no server error, a documented status code, the documented content
type, a body that matches the schema, invalid data rejected, and so on. Its own report is
printed as it runs; at the end this script lists every failure from the JUnit report, each
with the request that reproduces it, and exits 1 when there was any, when schemathesis itself
failed, or when it did not test every operation of the document.

The document includes the write operations of OGC API - Features Part 4 (POST, PUT, PATCH and
DELETE on the items). They are fuzzed on purpose, not left out: without a token every one must
be refused 401; with the officer's token (--header) schemathesis sends valid and invalid
features, so the store of the run may gain features, and PUT, PATCH and DELETE, which need an
If-Match that schemathesis cannot know, must answer 428 or 412 (or 404 for an invented id).
"""

import argparse
import json
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

# Every check schemathesis has, but one.
#
# positive_data_acceptance expects every schema-valid request to succeed. Cairn's parameters
# carry rules that an OpenAPI schema cannot state, so schema-valid requests are rightly
# refused with a 400 problem: `filter` must parse as basic CQL2 text; `bbox` needs
# minLon <= maxLon and minLat <= maxLat; a `datetime` interval must not end before it starts;
# `at` may not precede the data (the service answers for the current data only, by design);
# a route must be a valid LineString of at most 10,000 positions and 1,000 km. The opposite
# check, negative_data_rejection (schema-invalid requests must be refused), stays on.
EXCLUDED_CHECKS = ["positive_data_acceptance"]

# Statuses that answer a request missing a required header. Besides schemathesis's own list,
# 428 Precondition Required: PUT, PATCH and DELETE on a feature need If-Match (optimistic
# locking, OGC API - Features Part 4), and a request without it is refused with 428 (RFC 6585).
CONFIG = """\
[checks.missing_required_header]
expected-statuses = ["400", "401", "403", "406", "415", "422", "428"]
"""


def operations(api_url):
    """The number of operations (path and method) that the document describes."""
    with urllib.request.urlopen(api_url, timeout=30) as r:
        doc = json.load(r)
    methods = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
    return sum(1 for item in doc["paths"].values() for m in item if m in methods)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--report-dir", required=True)
    ap.add_argument("--examples", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=150)
    a = ap.parse_args()

    expected_ops = operations(a.api)
    report = Path(a.report_dir).resolve()
    report.mkdir(parents=True, exist_ok=True)
    junit = report / "junit.xml"
    config = report / "schemathesis.toml"
    config.write_text(CONFIG)
    cmd = [
        sys.executable,
        "-c",
        "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
        "--config-file",
        str(config),
        "run",
        a.api,
        # Without a filter schemathesis leaves out the operation that serves the document it
        # loaded (GET /ogc/api); a filter that every path matches brings it back.
        "--include-path-regex",
        ".",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--max-examples",
        str(a.examples),
        "--seed",
        str(a.seed),
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    for h in a.header:
        cmd += ["--header", h]
    shown = [c if not c.lower().startswith("authorization") else "Authorization: Bearer ***" for c in cmd]
    print("running: " + " ".join(shown[3:]), flush=True)
    try:
        run = subprocess.run(cmd, timeout=a.timeout, cwd=report)
    except subprocess.TimeoutExpired:
        print(f"FAIL: schemathesis did not finish within {a.timeout:.0f} s", flush=True)
        return 1

    problems = []
    if not junit.exists():
        print(f"FAIL: schemathesis exited {run.returncode} and wrote no JUnit report", flush=True)
        return 1
    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    tested = [c for c in cases if c.get("name") != "Stateful tests"]
    if len(tested) < expected_ops:
        problems.append(f"schemathesis tested {len(tested)} operations; the document has {expected_ops}")
    for case in cases:
        for kind in ("failure", "error"):
            for f in case.findall(kind):
                text = (f.text or "").strip()
                repro = [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]
                lines = [line for line in text.splitlines() if line.strip()][:8]
                problems.append(
                    f"{case.get('name')}: {kind} {f.get('message')}\n      "
                    + "\n      ".join(lines)
                    + ("\n      reproduce: " + repro[0] if repro else "")
                )
    print("\n== summary", flush=True)
    print(f"operations tested: {len(tested)} of {expected_ops}; schemathesis exit {run.returncode}")
    for p in problems:
        print("FAIL: " + p)
    if run.returncode != 0 and not problems:
        problems.append(f"schemathesis exited {run.returncode}")
        print(f"FAIL: schemathesis exited {run.returncode}")
    print(f"{len(problems)} problems", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run schemathesis once per role against a running `kofu serve --demo`.

Called by scripts/schemathesis, which builds and starts the server. Before
the runs it creates, through the API, what the generated requests need to
get past authorization and lookups (a card, a kiosk session with an
issuance, a second session to close), and writes a schemathesis.toml per
role that pins path parameters to them and draws some body members (card
ids, PINs, resident ids) from the demo's real ones. Everything else is
generated. Each role gets two runs: the single-request phases (examples,
coverage, fuzzing) with the pins, and the stateful phase without path pins
(see roles()). Prints a line per run and a total; exits non-zero if any run
failed. Reports go to <out>/<role>/<pass>/.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path

# Every check of this schemathesis but positive_data_acceptance: it wants
# every schema-valid request accepted, and some are refused by rules no
# schema states (a test resident gets no card, bytes that are not a
# component, an idempotency key reused for another request, an option the
# active plugin does not have); those answers are documented 4xx.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "allow_header_conformance",
        "ignored_auth",
        "use_after_free",
        "ensure_resource_availability",
    ]
)


def call(base: str, method: str, path: str, token: str | None = None, body=None, headers=None):
    """One request; returns (status, parsed JSON or None). Set-up only."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        raw = err.read()
        status = err.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def expect(what: str, reply, status: int):
    if reply[0] != status:
        sys.exit(f"schemathesis set-up: {what} answered {reply[0]}, expected {status}: {reply[1]}")
    return reply[1]


# Checks left out for one role, and why. The municipality's only resource
# that is both deleted and read back is the card, and a revoked card stays
# on record: GET shows it with `revoked_at` (documented in the Card schema)
# so the counter can see why it no longer signs in. use_after_free takes
# the DELETE for a hard delete. (Disabling it for that one operation in
# schemathesis.toml is not honoured by the stateful phase of this version.)
SKIPPED_CHECKS = {"municipality": {"use_after_free"}}


def fixtures(credentials: dict) -> dict:
    """Create what the pinned path parameters name."""
    base = credentials["base_url"]
    code = credentials["municipality"]["code"]
    mun = credentials["municipality"]["token"]
    plugins = expect("listing plugins", call(base, "GET", f"/v1/municipalities/{code}/plugins", mun), 200)
    hashes = {p["kind"]: p["hash"] for p in plugins["versions"]}
    # A new card of another resident: the municipality run may revoke or
    # unlock it without touching the card the kiosk run signs in with.
    other = credentials["residents"][-1]["resident_id"]
    card = expect(
        "issuing a card",
        call(base, "POST", f"/v1/municipalities/{code}/cards", mun, {"resident_id": other, "pin": "1234"}),
        201,
    )
    return {
        "code": code,
        "hash": hashes.get("residence-certificate") or next(iter(hashes.values())),
        "test_resident": credentials["test_residents"][0],
        "card": card["id"],
        **kiosk_sessions(credentials),
    }


def kiosk_sessions(credentials: dict) -> dict:
    """A session of the demo kiosk with an issued document, and a second
    session for DELETE alone (closing it must not end the one every other
    kiosk operation uses). Sessions close after three idle minutes, so the
    kiosk's runs get new ones."""
    base = credentials["base_url"]
    kiosk = credentials["kiosk"]["token"]
    resident = credentials["residents"][0]
    sign_in = {"card_id": resident["card_id"], "pin": resident["pin"]}
    session = expect("opening a session", call(base, "POST", "/v1/kiosk/sessions", kiosk, sign_in), 201)
    doomed = expect("opening a second session", call(base, "POST", "/v1/kiosk/sessions", kiosk, sign_in), 201)

    def issue() -> dict:
        return expect(
            "requesting an issuance",
            call(
                base,
                "POST",
                f"/v1/kiosk/sessions/{session['session_id']}/issuances",
                kiosk,
                {"kind": "residence-certificate", "options": {}},
                {"Idempotency-Key": str(uuid.uuid4())},
            ),
            201,
        )

    issuance = issue()
    # Its own issuance for GET .../document, so that a "printed" generated
    # earlier (which purges the bytes) leaves a PDF to fetch.
    document = issue()
    return {
        "session": session["session_id"],
        "doomed_session": doomed["session_id"],
        "issuance": issuance["id"],
        "document": document["id"],
        "verification_code": issuance.get("verification_code") or "",
    }


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def config(
    token: str | None,
    parameters: dict[str, str],
    operations: list[tuple[list[str], dict[str, object]]],
    dictionaries: dict[str, list[str]] | None = None,
) -> str:
    """A schemathesis.toml. An operation's parameter is pinned to a string,
    or drawn from a dictionary with a probability: {"dictionary": name,
    "probability": p}, so generated values still get through too."""
    lines = []
    if token:
        lines.append(f"headers = {{ Authorization = {toml_string('Bearer ' + token)} }}")
    lines.append("[parameters]")
    lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in parameters.items()]
    for name, values in (dictionaries or {}).items():
        lines.append(f"[dictionaries.{name}]")
        lines.append("values = [" + ", ".join(toml_string(v) for v in values) + "]")
    for settings, params in operations:
        if not params:
            continue
        lines.append("[[operations]]")
        lines += settings
        pinned = []
        for key, value in params.items():
            if isinstance(value, dict):
                value = f"{{ dictionary = {toml_string(value['dictionary'])}, probability = {value['probability']} }}"
            else:
                value = toml_string(value)
            pinned.append(f"{toml_string(key)} = {value}")
        lines.append(f"parameters = {{ {', '.join(pinned)} }}")
    return "\n".join(lines) + "\n"


def roles(credentials: dict, f: dict, stateful: bool) -> list[tuple[str, str]]:
    """(role, schemathesis.toml) for each role. Every role runs every
    operation: what a role may not do must be refused as documented too.

    Path ids are pinned to the fixtures only for the single-request phases.
    The stateful phase follows links from what it creates (cards, sessions,
    tokens, kiosks) to the operations on it, and a pinned id would win over
    the link's, so "created resource not found" and "used after deletion"
    would be about the fixture instead."""
    pin = (lambda params: params) if not stateful else (lambda params: {})
    code = {"path.code": f["code"]}
    # The vendor's municipality is the demo one, so token operations get
    # past "no such municipality".
    vendor = config(credentials["admin_token"], code, [])
    municipality = config(
        credentials["municipality"]["token"],
        {**code, "path.hash": f["hash"], "path.kind": "residence-certificate"},
        [
            (['include-path = "/v1/municipalities/{code}/residents/{id}"'], pin({"path.id": f["test_resident"]})),
            (['include-path-regex = "^/v1/municipalities/\\\\{code\\\\}/cards/"'], pin({"path.id": f["card"]})),
            (['include-path = "/v1/municipalities/{code}/issuances/{id}"'], pin({"path.id": f["issuance"]})),
            # Real residents, so some cards are issued and some refused
            # (a test resident gets none); real test residents, so some
            # dry-runs render (and a real resident's is refused).
            (
                ['include-path = "/v1/municipalities/{code}/cards"', 'include-method = "POST"'],
                {"body.resident_id": {"dictionary": "residents", "probability": 0.6}},
            ),
            (
                ['include-path = "/v1/municipalities/{code}/plugins/{hash}/dry-run"'],
                {"body.resident_id": {"dictionary": "residents", "probability": 0.6}},
            ),
        ],
        {"residents": [r["resident_id"] for r in credentials["residents"]] + credentials["test_residents"]},
    )
    kiosk = config(
        credentials["kiosk"]["token"],
        pin({"path.session": f["session"], "path.id": f["issuance"]}),
        [
            (
                ['include-path = "/v1/kiosk/sessions/{session}"', 'include-method = "DELETE"'],
                pin({"path.session": f["doomed_session"]}),
            ),
            (
                ['include-path = "/v1/kiosk/sessions/{session}/issuances/{id}/document"'],
                pin({"path.id": f["document"]}),
            ),
            # Anyone may verify; the kiosk run checks a real code's answer,
            # the anonymous run generated ones.
            (['include-path = "/v1/verify/{code}"'], pin({"path.code": f["verification_code"]})),
            # Real cards and PINs, drawn independently: some sign-ins open
            # sessions, most are wrong PINs until the card locks. Not the
            # card of the session above.
            (
                ['include-path = "/v1/kiosk/sessions"', 'include-method = "POST"'],
                {
                    "body.card_id": {"dictionary": "cards", "probability": 0.8},
                    "body.pin": {"dictionary": "pins", "probability": 0.5},
                },
            ),
        ],
        {
            "cards": [r["card_id"] for r in credentials["residents"][1:]],
            "pins": [r["pin"] for r in credentials["residents"][1:]],
        },
    )
    anonymous = config(None, {}, [])
    return [("vendor", vendor), ("municipality", municipality), ("kiosk", kiosk), ("anonymous", anonymous)]


def junit_totals(path: Path) -> tuple[int, int, int]:
    """(operations, failed operations, errored operations) from a JUnit report."""
    if not path.exists():
        return 0, 0, 0
    root = ElementTree.parse(path).getroot()
    cases = root.iter("testcase")
    operations = failed = errored = 0
    for case in cases:
        operations += 1
        if case.find("failure") is not None:
            failed += 1
        if case.find("error") is not None:
            errored += 1
    return operations, failed, errored


def responses(path: Path) -> tuple[int, collections.Counter]:
    """(test cases generated, responses by status) from the NDJSON events:
    each ScenarioFinished event carries the recorder with every case sent
    and every response received."""
    cases, statuses = 0, collections.Counter()
    if not path.exists():
        return cases, statuses
    with path.open() as events:
        for line in events:
            try:
                finished = json.loads(line).get("ScenarioFinished")
            except ValueError:
                continue
            if not finished:
                continue
            recorder = finished.get("recorder", {})
            cases += len(recorder.get("cases", {}))
            for interaction in recorder.get("interactions", {}).values():
                response = interaction.get("response") or {}
                statuses[response.get("status_code", "none")] += 1
    return cases, statuses


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--credentials", required=True, type=Path)
    parser.add_argument("--schemathesis", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--phases")
    parser.add_argument("--seed")
    parser.add_argument("--checks", default=CHECKS)
    args = parser.parse_args()

    credentials = json.loads(args.credentials.read_text())
    base = credentials["base_url"]
    for _ in range(100):
        try:
            if call(base, "GET", "/readyz")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    f = fixtures(credentials)

    version = subprocess.run([args.schemathesis, "--version"], capture_output=True, text=True).stdout.strip()
    wanted = set((args.phases or "examples,coverage,fuzzing,stateful").split(","))
    passes = [
        ("single", [p for p in ("examples", "coverage", "fuzzing") if p in wanted], False),
        ("stateful", [p for p in ("stateful",) if p in wanted], True),
    ]
    results = []
    started = time.monotonic()
    for name, phases, stateful in passes:
        if not phases:
            continue
        for role in ("vendor", "municipality", "kiosk", "anonymous"):
            if role == "kiosk":
                f.update(kiosk_sessions(credentials))
            toml = dict(roles(credentials, f, stateful))[role]
            label = f"{role}/{name}"
            directory = args.out / role / name
            directory.mkdir(parents=True, exist_ok=True)
            config_file = directory / "schemathesis.toml"
            config_file.write_text(toml)
            command = [
                args.schemathesis,
                "--config-file",
                str(config_file),
                "run",
                f"{base}/openapi.json",
                "--phases",
                ",".join(phases),
                "--checks",
                ",".join(c for c in args.checks.split(",") if c not in SKIPPED_CHECKS.get(role, set())),
                "--max-examples",
                str(args.max_examples),
                "--workers",
                str(args.workers),
                "--report",
                "junit,ndjson",
                "--report-junit-path",
                str(directory / "junit.xml"),
                "--report-ndjson-path",
                str(directory / "events.ndjson"),
                "--no-color",
                # Show the failing requests as sent: the tokens are
                # throwaway demo credentials of a server about to stop.
                "--output-sanitize",
                "false",
            ]
            if args.seed:
                command += ["--seed", args.seed]
            print(f"\n=== schemathesis as {role}, phases {','.join(phases)} ===", flush=True)
            pass_started = time.monotonic()
            env = dict(os.environ, SCHEMATHESIS_HOOKS=str(Path(__file__).with_name("hooks.py")))
            # In the report directory: schemathesis keeps a crash cache in
            # its working directory, which must not land in the work tree.
            status = subprocess.run(command, env=env, cwd=directory).returncode
            operations, failed, errored = junit_totals(directory / "junit.xml")
            sent, statuses = responses(directory / "events.ndjson")
            secs = time.monotonic() - pass_started
            results.append((label, status, operations, failed, errored, sent, secs, statuses))

    print(f"\n=== summary ({version}, --max-examples {args.max_examples}) ===")
    print(f"{'role/pass':<22} {'operations':>10} {'cases':>8} {'failed':>7} {'errors':>7} {'secs':>6}  exit")
    for label, status, operations, failed, errored, sent, secs, _ in results:
        print(f"{label:<22} {operations:>10} {sent:>8} {failed:>7} {errored:>7} {secs:>6.0f}  {status}")
    for label, *_, statuses in results:
        print(f"{label} responses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str)))
    total_cases = sum(r[5] for r in results)
    total_failed = sum(r[3] + r[4] for r in results)
    bad = [r[0] for r in results if r[1] != 0]
    print(
        f"total: {len(results)} runs, {total_cases} cases, {total_failed} failing operations, "
        f"{len(bad)} run(s) failed{' (' + ', '.join(bad) + ')' if bad else ''}, {time.monotonic() - started:.0f} s"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

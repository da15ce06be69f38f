//! Bad input changes nothing: malformed JSON, wrong content types, unknown
//! fields, oversized and non-component uploads, register imports with bad
//! rows or bad CSV, issuance requests without an idempotency key or with
//! unknown options, unknown routes and wrong methods. Each answer is a
//! problem document (documented in openapi.json), and the state read back
//! afterwards is what it was before.

use axum::http::Method;
use serde_json::{Value, json};

use crate::authz::{A, World};
use crate::common::{ADMIN, Payload, Reply, TestServer, entry_json};
use crate::openapi;

/// One bad request: who sends what where, and the answer it must get.
struct Case {
    what: String,
    method: Method,
    /// The route as openapi.json names it; None for a path the API does not have.
    route: Option<&'static str>,
    path: String,
    token: Option<String>,
    payload: Payload,
    headers: Vec<(&'static str, String)>,
    status: u16,
    /// The problem type's slug.
    slug: &'static str,
}

impl Case {
    fn new(what: impl Into<String>, method: Method, route: &'static str, path: String, token: &str) -> Case {
        Case {
            what: what.into(),
            method,
            route: Some(route),
            path,
            token: Some(token.to_owned()),
            payload: Payload::None,
            headers: Vec::new(),
            status: 0,
            slug: "",
        }
    }

    fn json(mut self, body: Value) -> Case {
        self.payload = Payload::Json(body);
        self
    }

    fn raw(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Case {
        self.payload = Payload::Raw(content_type, body.into());
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.push((name, value.into()));
        self
    }

    fn expect(mut self, status: u16, slug: &'static str) -> Case {
        self.status = status;
        self.slug = slug;
        self
    }
}

/// Send every case; each must get its problem, documented in openapi.json,
/// and leave the world as it was. Returns the problems, in order.
async fn run(w: &World, cases: Vec<Case>) -> Vec<Value> {
    let mut failures = Vec::new();
    let mut problems = Vec::new();
    for case in cases {
        assert!(case.status != 0, "{}: no expectation", case.what);
        let before = w.snapshot().await;
        let headers: Vec<(&str, &str)> = case.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply =
            w.server.call_with(case.method.clone(), &case.path, case.token.as_deref(), case.payload, &headers).await;
        let name = format!("{} ({} {})", case.what, case.method, case.path);
        problems.push(check_problem(&name, &reply, case.status, case.slug, &mut failures));
        if let Some(route) = case.route
            && let Err(problem) = openapi::conformance(case.method.as_str(), route, &reply)
        {
            failures.push(format!("{name}: {problem}"));
        }
        for change in World::changes(&before, &w.snapshot().await) {
            failures.push(format!("{name}: changed state: {change}"));
        }
    }
    assert!(failures.is_empty(), "bad input failures:\n{}", failures.join("\n"));
    problems
}

/// Check a problem answer; returns the problem (or Null).
fn check_problem(name: &str, reply: &Reply, status: u16, slug: &str, failures: &mut Vec<String>) -> Value {
    let problem: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    let wanted = format!("urn:kofu:problem:{slug}");
    if reply.status.as_u16() != status
        || reply.content_type != "application/problem+json"
        || problem["type"] != wanted.as_str()
        || problem["status"] != status
        || problem["detail"].as_str().is_none_or(str::is_empty)
        || !problem["title"].is_string()
    {
        failures.push(format!(
            "{name}: expected a {status} {wanted} problem, got {} ({}): {}",
            reply.status,
            reply.content_type,
            reply.text()
        ));
    }
    problem
}

fn m(rest: &str) -> String {
    format!("/v1/municipalities/{A}{rest}")
}

/// Every endpoint that takes a JSON body through the common extractor, with
/// a valid body, as its caller.
fn json_endpoints(w: &World) -> Vec<(&'static str, String, String, Value, Option<&'static str>)> {
    let (a, kiosk) = (w.a.token.clone(), w.kiosk.clone());
    vec![
        (
            "/v1/municipalities",
            "/v1/municipalities".into(),
            ADMIN.into(),
            json!({ "code": "444448", "name": "四市", "mayor_title": "四市長", "mayor_name": "見本 四郎" }),
            None,
        ),
        ("/v1/municipalities/{code}/tokens", m("/tokens"), ADMIN.into(), json!({ "label": "x" }), None),
        ("/v1/kiosks", "/v1/kiosks".into(), ADMIN.into(), json!({ "label": "x" }), None),
        (
            "/v1/municipalities/{code}/plugins/{hash}/dry-run",
            m(&format!("/plugins/{}/dry-run", w.residence)),
            a.clone(),
            json!({ "resident_id": "T-1" }),
            None,
        ),
        ("/v1/municipalities/{code}/cards", m("/cards"), a, json!({ "resident_id": "R-2", "pin": "1234" }), None),
        (
            "/v1/kiosk/sessions",
            "/v1/kiosk/sessions".into(),
            kiosk.clone(),
            json!({ "card_id": w.card, "pin": "1234" }),
            None,
        ),
        (
            "/v1/kiosk/sessions/{session}/issuances",
            format!("/v1/kiosk/sessions/{}/issuances", w.session),
            kiosk,
            json!({ "kind": "tax-certificate" }),
            Some("input-test"),
        ),
    ]
}

#[tokio::test]
async fn malformed_json_is_400_and_changes_nothing() {
    let w = World::new().await;
    let mut cases = Vec::new();
    for (route, path, token, body, key) in json_endpoints(&w) {
        // A member the body really has, so that the syntax error is the
        // first thing the parser meets.
        let first = body.as_object().unwrap().keys().next().unwrap().clone();
        for (label, body) in [
            ("truncated JSON", format!("{{\"{first}\": ").into_bytes()),
            ("not JSON", b"label=x".to_vec()),
            ("a trailing comma", format!("{{\"{first}\": \"x\",}}").into_bytes()),
            ("an empty body", Vec::new()),
            ("invalid UTF-8", [format!("{{\"{first}\": \"").as_bytes(), b"\xff\xfe\"}"].concat()),
            ("a single quote", format!("{{'{first}': 'x'}}").into_bytes()),
        ] {
            let mut case = Case::new(format!("{label} to {route}"), Method::POST, route, path.clone(), &token)
                .raw("application/json", body)
                .expect(400, "bad-request");
            if let Some(key) = key {
                case = case.header("idempotency-key", key);
            }
            cases.push(case);
        }
    }
    run(&w, cases).await;
}

#[tokio::test]
async fn a_syntax_error_after_an_unknown_member_is_reported_as_the_unknown_member() {
    // The body is parsed straight into the request type, so the first
    // problem met wins: here the unknown member (422), although the body is
    // not JSON at all (which would be 400). Pinned as it is; see the report.
    let w = World::new().await;
    let case = Case::new("an unknown member, then EOF", Method::POST, "/v1/kiosks", "/v1/kiosks".into(), ADMIN)
        .raw("application/json", b"{\"surprise\": ".to_vec())
        .expect(400, "bad-request");
    let problems = run(&w, vec![case]).await;
    assert!(problems[0]["detail"].as_str().unwrap().contains("not valid JSON"), "{}", problems[0]);
}

#[tokio::test]
async fn malformed_register_json_is_422_with_the_problem_and_imports_nothing() {
    // The register endpoints read their bodies themselves and report a file
    // that is not JSON as an import problem (422), not as a malformed
    // request (400) like the other JSON endpoints.
    let w = World::new().await;
    let token = w.a.token.clone();
    let mut cases = Vec::new();
    for body in [&b"{\"residents\": ["[..], b"residents", b""] {
        cases.push(
            Case::new(
                "not JSON, imported",
                Method::POST,
                "/v1/municipalities/{code}/residents",
                m("/residents"),
                &token,
            )
            .raw("application/json", body.to_vec())
            .expect(422, "invalid-input"),
        );
        cases.push(
            Case::new(
                "not JSON, as a status change",
                Method::PATCH,
                "/v1/municipalities/{code}/residents/{id}",
                m("/residents/R-2"),
                &token,
            )
            .raw("application/json", body.to_vec())
            .expect(422, "invalid-input"),
        );
    }
    for problem in run(&w, cases).await {
        let problems = problem["problems"].as_array().expect("problems");
        assert_eq!(problems.len(), 1, "{problem}");
        assert_eq!(problems[0]["row"], 0, "the file as a whole: {problem}");
        assert!(problems[0]["problem"].as_str().unwrap().contains("JSON"), "{problem}");
        let japanese = problems[0]["problem_ja"].as_str().unwrap();
        assert!(japanese.contains("JSON") && japanese.contains("ではありません"), "{problem}");
    }
}

#[tokio::test]
async fn wrong_content_types_are_415_and_change_nothing() {
    let w = World::new().await;
    let mut cases = Vec::new();
    for (route, path, token, body, key) in json_endpoints(&w) {
        for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", ""] {
            let mut case = Case::new(format!("`{content_type}` to {route}"), Method::POST, route, path.clone(), &token)
                .raw(content_type, body.to_string())
                .expect(415, "unsupported-media-type");
            if let Some(key) = key {
                case = case.header("idempotency-key", key);
            }
            cases.push(case);
        }
    }
    let a = w.a.token.clone();
    let wasm = kofu_tests::component(kofu_tests::guests::PANIC);
    for content_type in ["application/octet-stream", "text/plain", ""] {
        cases.push(
            Case::new(
                format!("a component as `{content_type}`"),
                Method::POST,
                "/v1/municipalities/{code}/plugins",
                m("/plugins"),
                &a,
            )
            .raw(content_type, wasm.clone())
            .expect(415, "unsupported-media-type"),
        );
    }
    // As JSON it is read as an install from the catalog, which it is not.
    cases.push(
        Case::new(
            "a component as `application/json`",
            Method::POST,
            "/v1/municipalities/{code}/plugins",
            m("/plugins"),
            &a,
        )
        .raw("application/json", wasm.clone())
        .expect(422, "invalid-input"),
    );
    let rows = json!({ "residents": [] }).to_string();
    for content_type in ["application/xml", "text/plain", "text/tab-separated-values", ""] {
        cases.push(
            Case::new(
                format!("an import as `{content_type}`"),
                Method::POST,
                "/v1/municipalities/{code}/residents",
                m("/residents"),
                &a,
            )
            .raw(content_type, rows.clone())
            .expect(415, "unsupported-media-type"),
        );
    }
    for content_type in ["text/csv", "text/plain", ""] {
        cases.push(
            Case::new(
                format!("a status change as `{content_type}`"),
                Method::PATCH,
                "/v1/municipalities/{code}/residents/{id}",
                m("/residents/R-2"),
                &a,
            )
            .raw(content_type, json!({ "restricted": true }).to_string())
            .expect(415, "unsupported-media-type"),
        );
    }
    run(&w, cases).await;
}

#[tokio::test]
async fn unknown_fields_and_wrong_shapes_are_422_and_change_nothing() {
    let w = World::new().await;
    let mut cases = Vec::new();
    for (route, path, token, body, key) in json_endpoints(&w) {
        let mut unknown = body.clone();
        unknown["surprise"] = json!(true);
        let mut wrong_type = body.clone();
        let first = body.as_object().unwrap().keys().next().unwrap().clone();
        wrong_type[&first] = json!([1, 2]);
        for (label, body) in
            [("an unknown field", unknown), ("a wrong type", wrong_type), ("not an object", json!([body]))]
        {
            let mut case = Case::new(format!("{label} to {route}"), Method::POST, route, path.clone(), &token)
                .json(body)
                .expect(422, "invalid-input");
            if let Some(key) = key {
                case = case.header("idempotency-key", key);
            }
            cases.push(case);
        }
    }
    let a = w.a.token.clone();
    let row = |id: &str| {
        let entries = kofu_register::entries_from_fixture(id, "H-N", &kofu_tests::fixture("nakamura-kenta"), false);
        entry_json(&entries[0])
    };
    let mut with_unknown = row("N-1");
    with_unknown["nickname"] = json!("ケン");
    let mut nested_unknown = row("N-1");
    nested_unknown["residency"] = json!({ "state": "resident", "sinse": "2025-01-01" });
    let imports = [
        ("an unknown resident field", json!({ "residents": [with_unknown] }), Some("nickname")),
        ("an unknown nested field", json!({ "residents": [nested_unknown] }), Some("residency")),
        ("an unknown top-level member", json!({ "residents": [row("N-1")], "source": "x" }), None),
    ];
    for (label, body, _) in &imports {
        cases.push(
            Case::new(*label, Method::POST, "/v1/municipalities/{code}/residents", m("/residents"), &a)
                .json(body.clone())
                .expect(422, "invalid-input"),
        );
    }
    let patch = |label: &str, body: Value| {
        Case::new(label, Method::PATCH, "/v1/municipalities/{code}/residents/{id}", m("/residents/R-2"), &a)
            .json(body)
            .expect(422, "invalid-input")
    };
    cases.push(patch("a status change of an unknown field", json!({ "name": "別人" })));
    cases.push(patch(
        "a status change with an unknown nested field",
        json!({ "residency": { "state": "deceased", "when": "2025-01-01" } }),
    ));
    cases.push(patch("an empty status change", json!({})));
    cases.push(patch("a status change of nulls only", json!({ "restricted": null })));
    let problems = run(&w, cases).await;
    // The import problems name the row and the field.
    let import_problems = &problems[problems.len() - 7..problems.len() - 4];
    for ((label, _, field), problem) in imports.iter().zip(import_problems) {
        let listed = problem["problems"].as_array().unwrap_or_else(|| panic!("{label}: no problems: {problem}"));
        if let Some(field) = field {
            assert!(
                listed.iter().any(|p| p["row"] == 1 && p["id"] == "N-1" && p["field"] == *field),
                "{label}: {problem}"
            );
        }
    }
    let unknown_change = &problems[problems.len() - 4];
    assert_eq!(unknown_change["problems"][0]["field"], "name", "{unknown_change}");
}

#[tokio::test]
async fn oversized_uploads_are_413_and_change_nothing() {
    let w = World::new().await;
    let limit = kofu_sandbox::Limits::default().component_bytes;
    let a = w.a.token.clone();
    let upload = |what: &str, bytes: Vec<u8>, status: u16, slug: &'static str| {
        Case::new(what, Method::POST, "/v1/municipalities/{code}/plugins", m("/plugins"), &a)
            .raw("application/wasm", bytes)
            .expect(status, slug)
    };
    // A real component padded past the limit, and plain bytes far past it.
    let mut padded = kofu_tests::component(kofu_tests::guests::PANIC);
    padded.resize(limit + 1, 0);
    let problems = run(
        &w,
        vec![
            upload("one byte over the limit", padded, 413, "payload-too-large"),
            upload("twice the limit", vec![0; 2 * limit], 413, "payload-too-large"),
            // At the limit the size is fine, and the bytes are judged instead.
            upload("exactly the limit", vec![0; limit], 422, "invalid-input"),
        ],
    )
    .await;
    for problem in &problems[..2] {
        assert!(problem["detail"].as_str().unwrap().contains(&limit.to_string()), "names the limit: {problem}");
    }
}

#[tokio::test]
async fn oversized_json_bodies_are_413_and_change_nothing() {
    let server = TestServer::with(|c| c.max_body_bytes = 4096).await;
    let muni = server.municipality(A, "一市").await;
    let before = server.get("/v1/municipalities", Some(ADMIN)).await.expect(200).json();
    let long = "長".repeat(4096);
    let body = json!({ "code": "555550", "name": long, "mayor_title": "x", "mayor_name": "x" });
    let reply = server.post("/v1/municipalities", Some(ADMIN), body).await;
    reply.expect_problem(413);
    openapi::assert_conforms(&Method::POST, "/v1/municipalities", &reply);
    let rows = json!({ "residents": [{ "id": "N-1", "household": "H", "name": long }] });
    let reply = server.post(&format!("/v1/municipalities/{A}/residents"), Some(&muni.token), rows).await;
    reply.expect_problem(413);
    openapi::assert_conforms(&Method::POST, "/v1/municipalities/{code}/residents", &reply);
    server.get(&format!("/v1/municipalities/{A}/residents/N-1"), Some(&muni.token)).await.expect_problem(404);
    assert_eq!(server.get("/v1/municipalities", Some(ADMIN)).await.expect(200).json(), before);
}

#[tokio::test]
async fn bytes_that_are_not_an_acceptable_component_are_422_naming_the_problem() {
    use kofu_tests::guests;
    let w = World::new().await;
    let a = w.a.token.clone();
    let residence = kofu_tests::component(guests::RESIDENCE);
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("text", b"this is not WebAssembly".to_vec(), &["not a WebAssembly component"]),
        ("an empty body", Vec::new(), &["not a WebAssembly component"]),
        ("a core module", b"\0asm\x01\0\0\0".to_vec(), &["not a WebAssembly component"]),
        ("a truncated component", residence[..residence.len() / 2].to_vec(), &["not a WebAssembly component"]),
        (
            "a component importing the filesystem",
            kofu_tests::component(guests::FORBIDDEN_IMPORT),
            &["imports", "wasi:sockets/", "may not use"],
        ),
        ("a component of another world", kofu_tests::component(guests::OTHER_WORLD), &["does not implement"]),
        ("a component with a bad manifest", kofu_tests::component(guests::BAD_MANIFEST), &["manifest"]),
    ];
    let expected: Vec<&[&str]> = cases.iter().map(|(_, _, words)| *words).collect();
    let cases = cases
        .into_iter()
        .map(|(what, bytes, _)| {
            Case::new(what, Method::POST, "/v1/municipalities/{code}/plugins", m("/plugins"), &a)
                .raw("application/wasm", bytes)
                .expect(422, "invalid-input")
        })
        .collect();
    for (problem, words) in run(&w, cases).await.iter().zip(expected) {
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.starts_with("the component was not accepted: "), "{problem}");
        for word in words {
            assert!(detail.contains(word), "the detail should say `{word}`: {problem}");
        }
        assert!(problem["hint"].as_str().is_some_and(|h| h.contains("kofu plugin check")), "{problem}");
    }
}

#[tokio::test]
async fn an_import_with_one_bad_row_imports_none_of_the_good_ones() {
    let w = World::new().await;
    let a = w.a.token.clone();
    let fixture = kofu_tests::fixture("nakamura-kenta");
    let row =
        |id: &str, household: &str| entry_json(&kofu_register::entries_from_fixture(id, household, &fixture, false)[0]);
    // R-2 (already registered) would be updated, N-1 and N-2 created...
    let mut r2 = kofu_register::entries_from_fixture("R-2", "H-R-2", &kofu_tests::fixture("suzuki-yoko"), false);
    r2[0].person.address = "見本市港南九丁目9番9号".into();
    let mut bad = row("N-3", "H-N3");
    bad["birth_date"] = json!("2001/04/02");
    let mut rows: Vec<Value> = r2.iter().map(entry_json).collect();
    let bad_row = rows.len() + 2;
    rows.extend([row("N-1", "H-N1"), bad, row("N-2", "H-N2")]);

    // ...and the same in CSV, with a bad sex on the second data row (line 3).
    let header =
        "id,household,name,name_kana,birth_date,sex,address,address_since,resident_since,household_head,relationship";
    let line = |id: &str, sex: &str| {
        format!(
            "{id},H-{id},中村　健太,ナカムラ　ケンタ,2001-04-02,{sex},見本市本町1-1,2024-04-01,2024-04-01,中村　健太,世帯主"
        )
    };
    let csv = [header.to_owned(), line("N-1", "male"), line("N-2", "男"), line("N-3", "female")].join("\n") + "\n";

    let import = |what: &str| {
        Case::new(what, Method::POST, "/v1/municipalities/{code}/residents", m("/residents"), &a)
            .expect(422, "invalid-input")
    };
    let problems = run(
        &w,
        vec![
            import("JSON with one bad row").json(json!({ "residents": rows })),
            import("CSV with one bad row").raw("text/csv", csv),
            import("CSV with a bad row and a UTF-8 BOM").raw(
                "text/csv; charset=utf-8",
                format!("\u{feff}{header}\n{}\n{}\n", line("N-1", "male"), line("N-2", "x")),
            ),
        ],
    )
    .await;
    let listed = |problem: &Value| -> Vec<(i64, String, String)> {
        problem["problems"]
            .as_array()
            .unwrap_or_else(|| panic!("no problems: {problem}"))
            .iter()
            .map(|p| {
                (
                    p["row"].as_i64().unwrap(),
                    p["id"].as_str().unwrap_or("").into(),
                    p["field"].as_str().unwrap_or("").into(),
                )
            })
            .collect()
    };
    assert_eq!(listed(&problems[0]), [(bad_row as i64, "N-3".to_owned(), "birth_date".to_owned())], "{}", problems[0]);
    assert_eq!(listed(&problems[1]), [(3, "N-2".to_owned(), "sex".to_owned())], "{}", problems[1]);
    assert_eq!(listed(&problems[2]), [(3, "N-2".to_owned(), "sex".to_owned())], "{}", problems[2]);
    for problem in &problems {
        assert!(problem["detail"].as_str().unwrap().contains("nothing was changed"), "{problem}");
    }
    // run() compared the snapshot (R-2 and N-1 among it); N-2 and N-3 too:
    for id in ["N-1", "N-2", "N-3"] {
        w.server.get(&m(&format!("/residents/{id}")), Some(&a)).await.expect_problem(404);
    }
}

#[tokio::test]
async fn bad_csv_is_422_and_imports_nothing() {
    let w = World::new().await;
    let a = w.a.token.clone();
    let header =
        "id,household,name,name_kana,birth_date,sex,address,address_since,resident_since,household_head,relationship";
    let good =
        "N-1,H-N1,中村　健太,ナカムラ　ケンタ,2001-04-02,male,見本市本町1-1,2024-04-01,2024-04-01,中村　健太,世帯主";
    // 中村 in Shift_JIS.
    let shift_jis = [header.as_bytes(), b"\nN-1,H-N1,\x92\x86\x91\xba,", &good.as_bytes()[24..]].concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("an empty file", Vec::new()),
        ("a header only of unknown columns", b"name;birth\n".to_vec()),
        (
            "a missing required column",
            format!("{}\n{}\n", header.replace(",relationship", ""), good.rsplit_once(',').unwrap().0).into_bytes(),
        ),
        ("an unknown column", format!("{header},nickname\n{good},ケン\n").into_bytes()),
        ("a short row", format!("{header}\n{}\n", good.rsplit_once(',').unwrap().0).into_bytes()),
        ("Shift_JIS text", shift_jis),
        ("a bad tax cell", format!("{header},tax\n{good},2025:市民税:lots:0\n").into_bytes()),
        ("a duplicate id", format!("{header}\n{good}\n{good}\n").into_bytes()),
    ];
    let cases = cases
        .into_iter()
        .map(|(what, body)| {
            Case::new(what, Method::POST, "/v1/municipalities/{code}/residents", m("/residents"), &a)
                .raw("text/csv", body)
                .expect(422, "invalid-input")
        })
        .collect();
    for problem in run(&w, cases).await {
        assert!(problem["problems"].as_array().is_some_and(|p| !p.is_empty()), "{problem}");
    }
}

#[tokio::test]
async fn an_issuance_without_a_valid_idempotency_key_is_400_and_issues_nothing() {
    let w = World::new().await;
    let path = format!("/v1/kiosk/sessions/{}/issuances", w.session);
    let request = |what: &str| {
        Case::new(what, Method::POST, "/v1/kiosk/sessions/{session}/issuances", path.clone(), &w.kiosk)
            .json(json!({ "kind": "tax-certificate" }))
            .expect(400, "bad-request")
    };
    let problems = run(
        &w,
        vec![
            request("no Idempotency-Key"),
            request("an empty Idempotency-Key").header("idempotency-key", ""),
            request("a 129-character Idempotency-Key").header("idempotency-key", "k".repeat(129)),
            request("an Idempotency-Key with a space").header("idempotency-key", "two words"),
        ],
    )
    .await;
    assert!(problems.iter().all(|p| p["detail"].as_str().unwrap().contains("Idempotency-Key")), "{problems:?}");
    // 128 characters is fine.
    w.server.issue(&w.kiosk, &w.session, &"k".repeat(128), "tax-certificate", json!({})).await.expect(201);
}

#[tokio::test]
async fn unknown_or_invalid_options_are_422_and_issue_nothing() {
    let w = World::new().await;
    let path = format!("/v1/kiosk/sessions/{}/issuances", w.session);
    let dry_run = m(&format!("/plugins/{}/dry-run", w.residence));
    let mut cases = Vec::new();
    for (n, (what, kind, options)) in [
        ("an unknown option", "residence-certificate", json!({ "include-everything": true })),
        ("an option of a kind without options", "tax-certificate", json!({ "include-household": true })),
        ("a flag that is not true or false", "residence-certificate", json!({ "include-household": "maybe" })),
        ("an option given as a list", "residence-certificate", json!({ "include-household": [true] })),
        ("an option given as an object", "residence-certificate", json!({ "include-household": { "value": true } })),
        ("an option given as null", "residence-certificate", json!({ "include-household": null })),
    ]
    .into_iter()
    .enumerate()
    {
        cases.push(
            Case::new(
                format!("issuance with {what}"),
                Method::POST,
                "/v1/kiosk/sessions/{session}/issuances",
                path.clone(),
                &w.kiosk,
            )
            .json(json!({ "kind": kind, "options": options }))
            .header("idempotency-key", format!("options-{n}"))
            .expect(422, "invalid-input"),
        );
        if kind == "residence-certificate" && n < 3 {
            cases.push(
                Case::new(
                    format!("dry-run with {what}"),
                    Method::POST,
                    "/v1/municipalities/{code}/plugins/{hash}/dry-run",
                    dry_run.clone(),
                    &w.a.token,
                )
                .json(json!({ "resident_id": "T-1", "options": options }))
                .expect(422, "invalid-input"),
            );
        }
    }
    cases.push(
        Case::new("an unknown kind", Method::POST, "/v1/kiosk/sessions/{session}/issuances", path.clone(), &w.kiosk)
            .json(json!({ "kind": "marriage-certificate" }))
            .header("idempotency-key", "unknown-kind")
            .expect(404, "not-found"),
    );
    let problems = run(&w, cases).await;
    assert!(problems[0]["detail"].as_str().unwrap().contains("include-everything"), "{}", problems[0]);
}

#[tokio::test]
async fn other_bad_values_are_refused_and_change_nothing() {
    let w = World::new().await;
    let a = w.a.token.clone();
    let municipality = |what: &str, body: Value| {
        Case::new(what, Method::POST, "/v1/municipalities", "/v1/municipalities".into(), ADMIN)
            .json(body)
            .expect(422, "invalid-input")
    };
    let valid = json!({ "code": "444448", "name": "四市", "mayor_title": "四市長", "mayor_name": "見本 四郎" });
    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    let dry_run = m(&format!("/plugins/{}/dry-run", w.residence));
    let dry = |what: &str, body: Value| {
        Case::new(what, Method::POST, "/v1/municipalities/{code}/plugins/{hash}/dry-run", dry_run.clone(), &a)
            .json(body)
            .expect(422, "invalid-input")
    };
    let audit = |query: &str, status: u16, slug: &'static str| {
        Case::new(
            format!("audit ?{query}"),
            Method::GET,
            "/v1/municipalities/{code}/audit",
            m(&format!("/audit?{query}")),
            &a,
        )
        .expect(status, slug)
    };
    let fixture = serde_json::to_value(kofu_tests::fixture("yamada-taro")).unwrap();
    let cases = vec![
        municipality("a 5-digit code", with("code", json!("12345"))),
        municipality("a code with letters", with("code", json!("13101A"))),
        municipality("an empty name", with("name", json!(""))),
        municipality("a blank name", with("name", json!("　 "))),
        municipality("a name with a control character", with("name", json!("四\u{7}市"))),
        municipality("a 65-character mayor title", with("mayor_title", json!("長".repeat(65)))),
        municipality("a missing member", json!({ "code": "444448", "name": "四市", "mayor_title": "四市長" })),
        Case::new("a 101-character label", Method::POST, "/v1/kiosks", "/v1/kiosks".into(), ADMIN)
            .json(json!({ "label": "k".repeat(101) }))
            .expect(422, "invalid-input"),
        Case::new("a 3-digit PIN for a card", Method::POST, "/v1/municipalities/{code}/cards", m("/cards"), &a)
            .json(json!({ "resident_id": "R-2", "pin": "123" }))
            .expect(422, "invalid-input"),
        Case::new("a card for a test resident", Method::POST, "/v1/municipalities/{code}/cards", m("/cards"), &a)
            .json(json!({ "resident_id": "T-1", "pin": "1234" }))
            .expect(422, "invalid-input"),
        Case::new(
            "a PIN with a letter at sign-in",
            Method::POST,
            "/v1/kiosk/sessions",
            "/v1/kiosk/sessions".into(),
            &w.kiosk,
        )
        .json(json!({ "card_id": w.card, "pin": "12a4" }))
        .expect(422, "invalid-input"),
        dry("a dry-run naming both a resident and a record", json!({ "resident_id": "T-1", "resident": fixture })),
        dry("a dry-run naming no resident", json!({ "options": {} })),
        dry("a dry-run with a slashed date", json!({ "resident_id": "T-1", "issue_date": "2025/11/21" })),
        dry("a dry-run with a record that is not a resident", json!({ "resident": { "name": "x" } })),
        Case::new(
            "a status change to moved-out without a date",
            Method::PATCH,
            "/v1/municipalities/{code}/residents/{id}",
            m("/residents/R-2"),
            &a,
        )
        .json(json!({ "residency": { "state": "moved-out" } }))
        .expect(422, "invalid-input"),
        audit("limit=0", 422, "invalid-input"),
        audit("limit=1001", 422, "invalid-input"),
        audit("after=-1", 422, "invalid-input"),
        audit("limit=ten", 400, "bad-request"),
        audit("page=2", 400, "bad-request"),
        Case::new("a path that is not UTF-8", Method::GET, "/v1/verify/{code}", "/v1/verify/%FF%FE".into(), ADMIN)
            .expect(400, "bad-request"),
        Case::new(
            "a municipality code that is not UTF-8",
            Method::GET,
            "/v1/municipalities/{code}/plugins",
            "/v1/municipalities/%FF/plugins".into(),
            &a,
        )
        .expect(400, "bad-request"),
    ];
    run(&w, cases).await;
    // The card was not counted as a wrong guess.
    let card = w.server.get(&m(&format!("/cards/{}", w.card)), Some(&a)).await.expect(200).json();
    assert_eq!(card["failed_attempts"], 0);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let w = World::new().await;
    let a = w.a.token.clone();
    let unknown = |method: Method, path: &str, token: Option<&str>| Case {
        what: format!("no route {path}"),
        method,
        route: None,
        path: path.to_owned(),
        token: token.map(str::to_owned),
        payload: Payload::None,
        headers: Vec::new(),
        status: 404,
        slug: "not-found",
    };
    let wrong = |method: Method, path: String, token: Option<&str>| Case {
        what: format!("{method} is not a method of {path}"),
        status: 405,
        slug: "method-not-allowed",
        ..unknown(method.clone(), &path, token)
    };
    let cases = vec![
        unknown(Method::GET, "/", None),
        unknown(Method::GET, "/v2/municipalities", Some(ADMIN)),
        unknown(Method::GET, "/v1/municipalities/111112/nothing", Some(&a)),
        unknown(Method::POST, "/v1/municipalities/111112/residents/R-1/cards", Some(&a)),
        unknown(Method::GET, "/healthz/", None),
        unknown(Method::DELETE, "/v1/kiosk/sessions/x/issuances/y/document/z", Some(&w.kiosk)),
        wrong(Method::PUT, "/v1/municipalities".into(), Some(ADMIN)),
        wrong(Method::DELETE, "/v1/municipalities".into(), Some(ADMIN)),
        wrong(Method::DELETE, "/v1/municipalities/111112".into(), Some(ADMIN)),
        wrong(Method::POST, "/healthz".into(), None),
        wrong(Method::DELETE, m("/plugins"), Some(&a)),
        wrong(Method::PUT, m("/residents/R-1"), Some(&a)),
        wrong(Method::POST, m("/residents/R-1"), Some(&a)),
        wrong(Method::DELETE, m("/residents"), Some(&a)),
        wrong(Method::PATCH, m(&format!("/cards/{}", w.card)), Some(&a)),
        wrong(Method::GET, "/v1/kiosk/sessions".into(), Some(&w.kiosk)),
        wrong(Method::GET, format!("/v1/kiosk/sessions/{}/issuances", w.session), Some(&w.kiosk)),
        wrong(Method::DELETE, format!("/v1/kiosk/sessions/{}/issuances/{}", w.session, w.issuance), Some(&w.kiosk)),
        wrong(
            Method::GET,
            format!("/v1/kiosk/sessions/{}/issuances/{}/printed", w.session, w.issuance),
            Some(&w.kiosk),
        ),
    ];
    run(&w, cases).await;
}

#[tokio::test]
async fn csv_problems_name_the_right_line_with_crlf_line_endings_too() {
    // Excel writes CSV with CRLF line endings. The row of a problem is the
    // line number in the file, as it is for LF files.
    let w = World::new().await;
    let header =
        "id,household,name,name_kana,birth_date,sex,address,address_since,resident_since,household_head,relationship";
    let line = |id: &str, sex: &str| {
        format!(
            "{id},H-{id},中村　健太,ナカムラ　ケンタ,2001-04-02,{sex},見本市本町1-1,2024-04-01,2024-04-01,中村　健太,世帯主"
        )
    };
    let csv =
        format!("\u{feff}{header}\r\n{}\r\n{}\r\n{}\r\n", line("N-1", "male"), line("N-2", "male"), line("N-3", "x"));
    let case = Case::new(
        "CRLF CSV with a bad row",
        Method::POST,
        "/v1/municipalities/{code}/residents",
        m("/residents"),
        &w.a.token,
    )
    .raw("text/csv", csv)
    .expect(422, "invalid-input");
    let problem = &run(&w, vec![case]).await[0];
    let listed = &problem["problems"][0];
    assert_eq!((&listed["id"], &listed["field"]), (&json!("N-3"), &json!("sex")), "{problem}");
    assert_eq!(listed["row"], 4, "N-3 is on line 4 of the file: {problem}");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_an_allow_header_naming_the_documented_methods() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let server = TestServer::new().await;
    let mut failures = Vec::new();
    for (path, item) in openapi::document()["paths"].as_object().unwrap() {
        let mut documented: Vec<String> = item.as_object().unwrap().keys().map(|m| m.to_uppercase()).collect();
        if documented.iter().any(|m| m == "GET") {
            documented.push("HEAD".into());
        }
        documented.sort();
        let concrete = path.replace("{code}", A).replace('{', "x").replace('}', "");
        for method in [Method::PUT, Method::OPTIONS, Method::TRACE] {
            let request = axum::http::Request::builder()
                .method(method.clone())
                .uri(&concrete)
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let response = server.app.clone().oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let allow = response.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let content_type = response.headers().get("content-type").cloned();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let mut allowed: Vec<String> =
                allow.split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()).collect();
            allowed.sort();
            let problem: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if status != 405
                || allowed != documented
                || content_type.as_ref().and_then(|v| v.to_str().ok()) != Some("application/problem+json")
                || problem["type"] != "urn:kofu:problem:method-not-allowed"
            {
                failures.push(format!(
                    "{method} {concrete}: {status}, Allow: {allow:?} (documented {documented:?}), {problem}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The errors `body` has against the request body schema of `method`
/// `route` in openapi.json (empty: the schema accepts it).
fn request_schema_errors(method: &Method, route: &str, body: &Value) -> Vec<String> {
    let schema = &openapi::operation(method.as_str(), route)["requestBody"]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "{method} {route} documents no JSON request body");
    let mut errors = Vec::new();
    openapi::validate(schema, body, "body", &mut errors);
    errors
}

/// Found by schemathesis (scripts/schemathesis): requests that openapi.json
/// accepted and the server refused — an `after` past 64 bits, a register
/// fiscal year 0, an empty tax year, a move-out without its date, a
/// dry-run naming no resident, an empty id or name. The request schemas now
/// state those rules; here each such request is refused by the schema and
/// by the server alike (changing nothing), and the bounds themselves are
/// accepted by both.
#[tokio::test]
async fn the_request_schemas_state_the_limits_the_server_enforces() {
    let w = World::new().await;
    let a = w.a.token.clone();

    // `after` is a 64-bit signed integer: the largest is a valid (empty)
    // page, one more is refused by the schema's maximum and the server.
    let after = &openapi::operation("GET", "/v1/municipalities/{code}/audit")["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "after")
        .unwrap()["schema"];
    assert_eq!(after["maximum"].as_u64(), Some(i64::MAX as u64), "{after}");
    let page = w.server.get(&m(&format!("/audit?after={}", i64::MAX)), Some(&a)).await;
    page.expect(200);
    assert_eq!(page.json()["entries"], json!([]));

    let fixture = kofu_tests::fixture("nakamura-kenta");
    let row = entry_json(&kofu_register::entries_from_fixture("N-1", "H-N1", &fixture, false)[0]);
    let with = |base: &Value, pointer: &str, value: Value| {
        let mut body = base.clone();
        *body.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} in {base}")) = value;
        body
    };
    let import_route = "/v1/municipalities/{code}/residents";
    let patch_route = "/v1/municipalities/{code}/residents/{id}";
    let dry_route = "/v1/municipalities/{code}/plugins/{hash}/dry-run";
    let record = serde_json::to_value(kofu_tests::fixture("yamada-taro")).unwrap();
    let tax_year = |fy: Value, items: Value| json!({ "tax_year": { "fiscal_year": fy, "items": items } });
    let item = json!([{ "name": "市民税・県民税", "assessed": 1000, "paid": 1000 }]);
    let bodies: Vec<(&str, Method, &'static str, String, Value)> = vec![
        (
            "an empty resident id",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&row, "/id", json!(""))] }),
        ),
        (
            "a 33-character resident id",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&row, "/id", json!("N".repeat(33)))] }),
        ),
        (
            "an empty household id",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&row, "/household", json!(""))] }),
        ),
        (
            "an empty name",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&row, "/name", json!(""))] }),
        ),
        (
            "a 201-character address",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&row, "/address", json!("町".repeat(201)))] }),
        ),
        (
            "a register fiscal year 1867",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&row, "/tax", json!([{ "fiscal_year": 1867, "items": item }]))] }),
        ),
        (
            "a register tax year without items",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&row, "/tax", json!([{ "fiscal_year": 2025, "items": [] }]))] }),
        ),
        (
            "a moved-out resident without the date",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&row, "/residency", json!({ "state": "moved-out" }))] }),
        ),
        (
            "a status change to fiscal year 0",
            Method::PATCH,
            patch_route,
            m("/residents/R-2"),
            tax_year(json!(0), item.clone()),
        ),
        (
            "a status change to fiscal year 10000",
            Method::PATCH,
            patch_route,
            m("/residents/R-2"),
            tax_year(json!(10000), item.clone()),
        ),
        (
            "a status change to an empty tax year",
            Method::PATCH,
            patch_route,
            m("/residents/R-2"),
            tax_year(json!(2025), json!([])),
        ),
        (
            "a status change to deceased with a null date",
            Method::PATCH,
            patch_route,
            m("/residents/R-2"),
            json!({ "residency": { "state": "deceased", "since": null } }),
        ),
        (
            "a dry-run naming no resident",
            Method::POST,
            dry_route,
            m(&format!("/plugins/{}/dry-run", w.residence)),
            json!({ "options": {} }),
        ),
        (
            "a dry-run naming null for both",
            Method::POST,
            dry_route,
            m(&format!("/plugins/{}/dry-run", w.residence)),
            json!({ "resident_id": null, "resident": null }),
        ),
        (
            "a dry-run naming both",
            Method::POST,
            dry_route,
            m(&format!("/plugins/{}/dry-run", w.residence)),
            json!({ "resident_id": "T-1", "resident": record }),
        ),
        (
            "a dry-run record with an empty name",
            Method::POST,
            dry_route,
            m(&format!("/plugins/{}/dry-run", w.residence)),
            json!({ "resident": with(&record, "/name", json!("")) }),
        ),
        (
            "a dry-run record with an amount past 64 bits",
            Method::POST,
            dry_route,
            m(&format!("/plugins/{}/dry-run", w.residence)),
            json!({ "resident": with(&record, "/tax", json!([{ "fiscal_year": 2025, "items": [{ "name": "x", "assessed": 1e20, "paid": 0 }] }])) }),
        ),
    ];
    let mut cases = Vec::new();
    for (what, method, route, path, body) in bodies {
        assert!(!request_schema_errors(&method, route, &body).is_empty(), "{what}: openapi.json accepts {body}");
        cases.push(Case::new(what, method, route, path, &a).json(body).expect(422, "invalid-input"));
    }
    cases.push(
        Case::new(
            "an `after` past 64 bits",
            Method::GET,
            "/v1/municipalities/{code}/audit",
            m(&format!("/audit?after={}", i64::MAX as u64 + 1)),
            &a,
        )
        .expect(400, "bad-request"),
    );
    run(&w, cases).await;

    // The bounds are valid for both.
    let accepted: Vec<(&str, Method, &'static str, String, Value)> = vec![
        (
            "a status change to fiscal year 1868",
            Method::PATCH,
            patch_route,
            m("/residents/R-2"),
            tax_year(json!(1868), item.clone()),
        ),
        (
            "a status change to fiscal year 9999",
            Method::PATCH,
            patch_route,
            m("/residents/R-2"),
            tax_year(json!(9999), item.clone()),
        ),
        (
            "a move-out with its date",
            Method::PATCH,
            patch_route,
            m("/residents/R-2"),
            json!({ "residency": { "state": "moved-out", "since": "2025-10-01" } }),
        ),
        (
            "an import with a 32-character id and a 200-character address",
            Method::POST,
            import_route,
            m("/residents"),
            json!({ "residents": [with(&with(&row, "/id", json!("N".repeat(32))), "/address", json!("町".repeat(200)))] }),
        ),
    ];
    for (what, method, route, path, body) in accepted {
        let errors = request_schema_errors(&method, route, &body);
        assert!(errors.is_empty(), "{what}: openapi.json refuses it: {errors:?}");
        let reply = w.server.call(method.clone(), &path, Some(&a), Payload::Json(body)).await;
        assert_eq!(reply.status.as_u16(), 200, "{what}: {}", reply.text());
        openapi::assert_conforms(&method, route, &reply);
    }
}

/// Found by schemathesis: an issuance request with an option value
/// openapi.json refuses (an object) was answered 410 when its session had
/// expired, and a dry-run's 403 or 404 for its resident came before the
/// same check. The request is refused for what it is, 422, before any
/// session, resident or plugin is looked up.
#[tokio::test]
async fn a_malformed_option_is_422_before_the_session_or_resident_is_looked_up() {
    let w = World::new().await;
    let close = format!("/v1/kiosk/sessions/{}", w.spare_session);
    w.server.call(Method::DELETE, &close, Some(&w.kiosk), Payload::None).await.expect(204);
    let issue_route = "/v1/kiosk/sessions/{session}/issuances";
    let dry_route = "/v1/municipalities/{code}/plugins/{hash}/dry-run";
    let issue = json!({ "kind": "residence-certificate", "options": { "include-household": { "value": true } } });
    let dry = json!({ "resident_id": "R-2", "options": { "include-household": { "value": true } } });
    let missing_plugin = json!({ "resident_id": "T-1", "options": { "include-household": [true] } });
    for (route, body) in [(issue_route, &issue), (dry_route, &dry), (dry_route, &missing_plugin)] {
        assert!(!request_schema_errors(&Method::POST, route, body).is_empty(), "openapi.json accepts {body}");
    }
    let cases = vec![
        Case::new(
            "an object option in a closed session",
            Method::POST,
            issue_route,
            format!("/v1/kiosk/sessions/{}/issuances", w.spare_session),
            &w.kiosk,
        )
        .json(issue.clone())
        .header("idempotency-key", "closed-session-object-option")
        .expect(422, "invalid-input"),
        Case::new(
            "an object option in a session of another kiosk",
            Method::POST,
            issue_route,
            format!("/v1/kiosk/sessions/{}/issuances", w.session),
            &w.other_kiosk,
        )
        .json(issue)
        .header("idempotency-key", "other-kiosk-object-option")
        .expect(422, "invalid-input"),
        Case::new(
            "a dry-run of a real resident with an object option",
            Method::POST,
            dry_route,
            m(&format!("/plugins/{}/dry-run", w.residence)),
            &w.a.token,
        )
        .json(dry)
        .expect(422, "invalid-input"),
        Case::new(
            "a dry-run of a plugin that does not exist with a list option",
            Method::POST,
            dry_route,
            m(&format!("/plugins/{}/dry-run", "0".repeat(64))),
            &w.a.token,
        )
        .json(missing_plugin)
        .expect(422, "invalid-input"),
    ];
    let problems = run(&w, cases).await;
    for problem in &problems {
        assert!(problem["detail"].as_str().unwrap().contains("include-household"), "{problem}");
    }
}

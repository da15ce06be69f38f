//! The OpenAPI document: it is OpenAPI 3.1 and well-formed, it documents
//! exactly the routes of the router, it is what GET /openapi.json serves,
//! and what the server answers conforms to it (status, content type and
//! JSON schema). The conformance check is shared with the authorization and
//! bad-input suites, so every reply they provoke is checked too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::{ADMIN, Payload, Reply, TestServer};

pub(crate) const DOCUMENT: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../host/server/src/openapi.json"));
pub(crate) const ROUTES_SOURCE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../host/server/src/routes/mod.rs"));

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

static DOC: LazyLock<Value> = LazyLock::new(|| serde_json::from_str(DOCUMENT).expect("openapi.json is JSON"));

pub(crate) fn document() -> &'static Value {
    &DOC
}

// ---------------------------------------------------------------- routes

/// Every `(METHOD, path)` the router in routes/mod.rs serves, read from its
/// source text.
pub(crate) fn routes_in_source() -> BTreeSet<(String, String)> {
    routes_in(ROUTES_SOURCE)
}

fn routes_in(source: &str) -> BTreeSet<(String, String)> {
    let source: String =
        source.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    for unsupported in [".nest(", ".merge(", ".route_service(", ".nest_service("] {
        assert!(
            !source.contains(unsupported),
            "routes/mod.rs uses `{unsupported}`: teach tests/suites/server/openapi.rs to read it"
        );
    }
    let mut routes = BTreeSet::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find(".route(") {
        let args = balanced(&rest[at + ".route(".len()..]);
        let (path, methods) = split_route(args);
        let calls = calls_in(methods);
        let mut found = 0;
        for call in calls {
            if METHODS.contains(&call.as_str()) {
                found += 1;
                assert!(routes.insert((call.to_uppercase(), path.clone())), "{call} {path} is routed twice");
            } else {
                assert!(
                    ["layer", "max"].contains(&call.as_str()),
                    "route {path} calls `{call}(`: teach tests/suites/server/openapi.rs what it means"
                );
            }
        }
        assert!(found > 0, "route {path} has no method");
        rest = &rest[at + ".route(".len() + args.len()..];
    }
    assert!(!routes.is_empty(), "no routes found in routes/mod.rs");
    routes
}

/// The text up to the parenthesis closing the one just opened.
fn balanced(text: &str) -> &str {
    let mut depth = 1;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in routes/mod.rs")
}

/// The path literal of a `.route(` call and the text after it.
fn split_route(args: &str) -> (String, &str) {
    let start = args.find('"').expect("a route path literal") + 1;
    let end = start + args[start..].find('"').expect("the end of the path literal");
    (args[start..end].to_owned(), &args[end + 1..])
}

/// The names of the functions and methods called in `text`.
fn calls_in(text: &str) -> Vec<String> {
    let mut calls = Vec::new();
    let mut ident = String::new();
    let mut ended = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            if ended {
                ident.clear();
                ended = false;
            }
            ident.push(c);
        } else if c.is_whitespace() {
            ended = true;
        } else {
            if c == '(' && !ident.is_empty() {
                calls.push(ident.clone());
            }
            ident.clear();
            ended = false;
        }
    }
    calls
}

/// Every `(METHOD, path)` the document describes.
pub(crate) fn documented_operations() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in document()["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// The operation object of `method` `route`.
pub(crate) fn operation(method: &str, route: &str) -> &'static Value {
    let op = &document()["paths"][route][method.to_lowercase()];
    assert!(op.is_object(), "{method} {route} is not in openapi.json");
    op
}

// ------------------------------------------------------------ conformance

/// Whether `value` is of JSON Schema type `name`.
fn is_type(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
        other => panic!("openapi.json uses unknown type `{other}`"),
    }
}

/// Follow a local `$ref`.
fn resolve(reference: &str) -> &'static Value {
    let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {reference}"));
    document().pointer(pointer).unwrap_or_else(|| panic!("unresolved $ref {reference}"))
}

/// Check `value` against `schema` (the JSON Schema subset openapi.json uses;
/// `pattern` and `format` are not checked), adding each violation to `errors`.
pub(crate) fn validate(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return errors.push(format!("{at}: nothing is allowed here, got {value}")),
        Value::Object(schema) => schema,
        other => panic!("{at}: not a schema: {other}"),
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        validate(resolve(reference), value, at, errors);
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().map(|t| t.as_str().expect("type name")).collect(),
            other => panic!("{at}: bad type {other}"),
        };
        if !types.iter().any(|t| is_type(t, value)) {
            return errors.push(format!("{at}: expected {}, got {value}", types.join(" or ")));
        }
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        errors.push(format!("{at}: expected {expected}, got {value}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    match value {
        Value::Object(members) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = name.as_str().expect("required name");
                if !members.contains_key(name) {
                    errors.push(format!("{at}: `{name}` is missing"));
                }
            }
            for (name, member) in members {
                let here = format!("{at}.{name}");
                match (properties.and_then(|p| p.get(name)), schema.get("additionalProperties")) {
                    (Some(property), _) => validate(property, member, &here, errors),
                    (None, Some(Value::Bool(false))) => errors.push(format!("{here}: not a documented member")),
                    (None, Some(additional)) => validate(additional, member, &here, errors),
                    (None, None) => {}
                }
            }
            if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
                && (members.len() as u64) < min
            {
                errors.push(format!("{at}: fewer than {min} members"));
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, element) in items.iter().enumerate() {
                    validate(item, element, &format!("{at}[{i}]"), errors);
                }
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                errors.push(format!("{at}: more than {max} items"));
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                errors.push(format!("{at}: fewer than {min} items"));
            }
        }
        Value::String(text) => {
            let chars = text.chars().count() as u64;
            if schema.get("minLength").and_then(Value::as_u64).is_some_and(|min| chars < min) {
                errors.push(format!("{at}: {text:?} is too short"));
            }
            if schema.get("maxLength").and_then(Value::as_u64).is_some_and(|max| chars > max) {
                errors.push(format!("{at}: {text:?} is too long"));
            }
        }
        Value::Number(number) => {
            let n = number.as_f64().expect("finite");
            if schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min) {
                errors.push(format!("{at}: {n} is below the minimum"));
            }
            if schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max) {
                errors.push(format!("{at}: {n} is above the maximum"));
            }
        }
        _ => {}
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        validate(part, value, at, errors);
    }
    let matching = |options: &Vec<Value>| {
        options
            .iter()
            .filter(|option| {
                let mut found = Vec::new();
                validate(option, value, at, &mut found);
                found.is_empty()
            })
            .count()
    };
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let n = matching(options);
        if n != 1 {
            errors.push(format!("{at}: {value} matches {n} of the `oneOf` schemas, not exactly one"));
        }
    }
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array)
        && matching(options) == 0
    {
        errors.push(format!("{at}: {value} matches none of the `anyOf` schemas"));
    }
}

/// Whether the reply to `method` `route` is one the document describes:
/// a documented status, a documented content type, and a JSON body valid
/// against its schema.
pub(crate) fn conformance(method: &str, route: &str, reply: &Reply) -> Result<(), String> {
    let op = operation(method, route);
    let status = reply.status.as_u16().to_string();
    let Some(mut response) = op["responses"].get(&status) else {
        return Err(format!("{method} {route}: status {status} is not documented; body: {}", reply.text()));
    };
    if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
        response = resolve(reference);
    }
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return if reply.body.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {route} {status}: documented without a body, got: {}", reply.text()))
        };
    };
    let media = reply.content_type.split(';').next().unwrap_or("").trim();
    let Some(entry) = content.get(media) else {
        return Err(format!(
            "{method} {route} {status}: content type `{}` is not documented (documented: {:?})",
            reply.content_type,
            content.keys().collect::<Vec<_>>()
        ));
    };
    if media == "application/json" || media.ends_with("+json") {
        let body: Value = serde_json::from_slice(&reply.body)
            .map_err(|e| format!("{method} {route} {status}: the body is not JSON ({e}): {}", reply.text()))?;
        let mut errors = Vec::new();
        validate(&entry["schema"], &body, "body", &mut errors);
        if !errors.is_empty() {
            return Err(format!(
                "{method} {route} {status}: the body does not match the schema:\n  {}\nbody: {body}",
                errors.join("\n  ")
            ));
        }
    }
    Ok(())
}

/// Assert [`conformance`].
#[track_caller]
pub(crate) fn assert_conforms(method: &Method, route: &str, reply: &Reply) {
    if let Err(problem) = conformance(method.as_str(), route, reply) {
        panic!("{problem}");
    }
}

// ------------------------------------------------------------------ tests

#[test]
fn the_document_is_openapi_3_1_and_every_operation_is_described() {
    let doc = document();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "not OpenAPI 3.1: {}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "kofu issuance API");
    assert_eq!(doc["info"]["version"], "0.1.0");
    let description = doc["info"]["description"].as_str().expect("info.description");
    for role in ["vendor", "municipality", "kiosk", "anyone"] {
        assert!(description.contains(role), "info.description does not describe the {role} role");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["type"], "http");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    let mut ids = BTreeSet::new();
    for (method, path) in documented_operations() {
        let op = operation(&method, &path);
        let name = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{name}: no operationId"));
        assert!(ids.insert(id.to_owned()), "{name}: operationId {id} is used twice");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: no summary");
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{name}: no responses"));
        assert!(!responses.is_empty(), "{name}: no responses");
        assert!(responses.keys().any(|s| s.starts_with('2')), "{name}: no success response");

        // Roles: stated in the description and in `security`.
        let roles: Vec<&str> = op["x-kofu-roles"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no x-kofu-roles"))
            .iter()
            .map(|r| r.as_str().expect("role"))
            .collect();
        let text = op["description"].as_str().unwrap_or_else(|| panic!("{name}: no description"));
        assert!(text.contains("Role:") || text.contains("Public:"), "{name}: the description names no role");
        let security = op["security"].as_array().unwrap_or_else(|| panic!("{name}: no security"));
        if roles == ["anyone"] {
            assert!(security.is_empty(), "{name}: public, but security is {security:?}");
            assert!(!responses.contains_key("401") && !responses.contains_key("403"), "{name}: public yet 401/403");
        } else {
            assert_eq!(security, &vec![json!({ "bearer": [] })], "{name}");
            for status in ["401", "403"] {
                assert!(responses.contains_key(status), "{name}: needs a credential but documents no {status}");
            }
        }

        // Every error is a problem document.
        for (status, response) in responses {
            let response = match response.get("$ref").and_then(Value::as_str) {
                Some(reference) => resolve(reference),
                None => response,
            };
            assert!(response["description"].is_string(), "{name} {status}: no description");
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().unwrap_or_else(|| panic!("{name} {status}: no content"));
                // A page for browsers answers its errors as a page too.
                let pages = responses.get("200").is_some_and(|ok| ok["content"].get("text/html").is_some());
                let media: Vec<&String> = content.keys().filter(|m| !(pages && *m == "text/html")).collect();
                assert_eq!(media, ["application/problem+json"], "{name} {status}");
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                    "{name} {status}"
                );
            }
        }

        // Path parameters: exactly the template's.
        let in_template: BTreeSet<String> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned).collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{name}: path parameter {p} must be required");
                p["name"].as_str().expect("name").to_owned()
            })
            .collect();
        assert_eq!(in_template, declared, "{name}: path parameters");
        if !in_template.is_empty() {
            assert!(responses.contains_key("400"), "{name}: a bad path answers 400");
        }

        // Request bodies: JSON ones are closed objects.
        if let Some(content) = op["requestBody"]["content"].as_object() {
            // A body is required unless the operation says it may be left out.
            let optional = op["requestBody"]["description"].as_str().is_some_and(|d| d.contains("no body"));
            assert!(op["requestBody"]["required"] == true || optional, "{name}: requestBody.required");
            if let Some(json) = content.get("application/json") {
                let schema = resolve(json["schema"]["$ref"].as_str().expect("a $ref"));
                assert_eq!(schema["additionalProperties"], false, "{name}: unknown fields are rejected");
                assert!(responses.contains_key("415") && responses.contains_key("422"), "{name}: 415 and 422");
            }
        }
    }

    // Every $ref resolves.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    out.push(r.to_owned());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(doc, &mut all);
    for reference in all {
        resolve(&reference);
    }
}

#[test]
fn the_specific_bodies_and_headers_are_documented() {
    let upload = operation("POST", "/v1/municipalities/{code}/plugins");
    assert!(upload["requestBody"]["content"]["application/wasm"].is_object(), "plugin upload as application/wasm");
    let import = operation("POST", "/v1/municipalities/{code}/residents");
    let media: Vec<&String> = import["requestBody"]["content"].as_object().unwrap().keys().collect();
    assert_eq!(media, ["application/json", "text/csv"]);
    let issue = operation("POST", "/v1/kiosk/sessions/{session}/issuances");
    let key = issue["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key");
    let key = key.expect("Idempotency-Key parameter");
    assert_eq!((&key["in"], &key["required"]), (&json!("header"), &json!(true)));
    for (method, route, media) in [
        ("GET", "/v1/kiosk/sessions/{session}/issuances/{id}/document", "application/pdf"),
        ("POST", "/v1/municipalities/{code}/plugins/{hash}/dry-run", "application/pdf"),
        ("GET", "/v1/municipalities/{code}/audit/export", "application/x-ndjson"),
        ("GET", "/metrics", "text/plain"),
    ] {
        assert!(
            operation(method, route)["responses"]["200"]["content"][media].is_object(),
            "{method} {route}: {media}"
        );
    }
    // The Rust bodies with `deny_unknown_fields` are closed, member for member.
    let schemas = &document()["components"]["schemas"];
    for (name, members) in [
        ("Municipality", &["code", "name", "mayor_title", "mayor_name"][..]),
        ("NewCredential", &["label"]),
        ("DryRun", &["resident_id", "resident", "options", "issue_date"]),
        ("NewCard", &["resident_id", "pin"]),
        ("SignIn", &["card_id", "pin"]),
        ("IssueRequest", &["kind", "options"]),
        ("StatusChange", &["residency", "restricted", "seal_state", "tax_year", "reason"]),
        ("VoidRequest", &["reason", "note"]),
        ("ActivateRequest", &["fee_yen", "override_reason"]),
        ("MunicipalityEdit", &["name", "mayor_title", "mayor_name", "mayor_from"]),
        ("Install", &["catalog"]),
        ("Removal", &["reason"]),
        ("RegisterImport", &["residents"]),
        ("AuditVerifyRequest", &["sample"]),
    ] {
        let schema = &schemas[name];
        assert_eq!(schema["additionalProperties"], false, "{name}");
        let documented: BTreeSet<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(documented, members.iter().copied().collect::<BTreeSet<&str>>(), "{name}");
    }
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let routed = routes_in_source();
    let documented = documented_operations();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from openapi.json: {undocumented:?}");
    assert!(phantom.is_empty(), "openapi.json documents routes the server does not have: {phantom:?}");
    assert_eq!(routed.len(), 47, "routes/mod.rs changed: check openapi.json and the authorization matrix");
}

#[test]
fn the_route_reader_reads_chained_and_layered_methods() {
    let source = r#"
        // .route("/commented", get(x))
        Router::new()
            .route("/a", get(m::a))
            .route("/b/{id}", post(m::b).get(m::get_b).delete(m::delete))
            .route(
                "/c",
                post(m::c).layer(DefaultBodyLimit::max(limit + 1)).patch(m::c2),
            )
    "#;
    let found: Vec<(String, String)> = routes_in(source).into_iter().collect();
    let expected = [
        ("DELETE", "/b/{id}"),
        ("GET", "/a"),
        ("GET", "/b/{id}"),
        ("PATCH", "/c"),
        ("POST", "/b/{id}"),
        ("POST", "/c"),
    ];
    assert_eq!(found, expected.map(|(m, p)| (m.to_owned(), p.to_owned())));
}

#[tokio::test]
async fn get_openapi_json_serves_this_document() {
    let server = TestServer::new().await;
    for token in [None, Some(ADMIN), Some("not-a-token")] {
        let reply = server.get("/openapi.json", token).await;
        reply.expect(200);
        assert_eq!(reply.content_type, "application/json");
        assert_eq!(reply.body, DOCUMENT.as_bytes());
        assert_eq!(&reply.json(), document());
        assert_conforms(&Method::GET, "/openapi.json", &reply);
    }
}

/// A server that records every reply's conformance.
struct Checked {
    server: TestServer,
    /// (METHOD, route) → statuses seen.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
    failures: Vec<String>,
}

impl Checked {
    async fn call(&mut self, method: Method, route: &str, path: &str, token: Option<&str>, payload: Payload) -> Reply {
        self.call_with(method, route, path, token, payload, &[]).await
    }

    async fn call_with(
        &mut self,
        method: Method,
        route: &str,
        path: &str,
        token: Option<&str>,
        payload: Payload,
        headers: &[(&str, &str)],
    ) -> Reply {
        let reply = self.server.call_with(method.clone(), path, token, payload, headers).await;
        if let Err(problem) = conformance(method.as_str(), route, &reply) {
            self.failures.push(problem);
        }
        self.seen.entry((method.to_string(), route.to_owned())).or_default().insert(reply.status.as_u16());
        reply
    }
}

#[tokio::test]
async fn replies_conform_to_the_document() {
    use kofu_tests::guests;
    let server = TestServer::new().await;
    let muni = server.municipality("131016", "見本区").await;
    let kiosk = server.kiosk("store").await;
    let mut s = Checked { server, seen: BTreeMap::new(), failures: Vec::new() };
    let code = muni.code.clone();
    let tok = Some(muni.token.as_str());
    let m = |rest: &str| format!("/v1/municipalities/{code}{rest}");
    let empty = || Payload::None;

    s.call(Method::GET, "/healthz", "/healthz", None, empty()).await.expect(200);
    s.call(Method::GET, "/readyz", "/readyz", None, empty()).await.expect(200);
    s.call(Method::GET, "/openapi.json", "/openapi.json", None, empty()).await.expect(200);

    // Vendor.
    let body = json!({ "code": "222224", "name": "二市", "mayor_title": "二市長", "mayor_name": "見本 二郎" });
    s.call(Method::POST, "/v1/municipalities", "/v1/municipalities", Some(ADMIN), Payload::Json(body.clone()))
        .await
        .expect(201);
    s.call(Method::POST, "/v1/municipalities", "/v1/municipalities", Some(ADMIN), Payload::Json(body))
        .await
        .expect_problem(409);
    s.call(Method::GET, "/v1/municipalities", "/v1/municipalities", Some(ADMIN), empty()).await.expect(200);
    s.call(Method::GET, "/v1/municipalities", "/v1/municipalities", None, empty()).await.expect_problem(401);
    s.call(Method::GET, "/v1/municipalities/{code}", &m(""), tok, empty()).await.expect(200);
    let record = "/v1/municipalities/{code}";
    let mayor = || Payload::Json(json!({ "mayor_name": "見本 次郎", "mayor_from": "2099-04-01" }));
    s.call(Method::PATCH, record, &m(""), tok, mayor()).await.expect(200);
    s.call(Method::PATCH, record, &m(""), Some(ADMIN), Payload::Json(json!({ "name": "見本市" }))).await.expect(200);
    s.call(Method::PATCH, record, &m(""), tok, Payload::Json(json!({}))).await.expect_problem(422);
    s.call(Method::PATCH, record, "/v1/municipalities/999000", Some(ADMIN), mayor()).await.expect_problem(404);
    s.call(Method::GET, "/v1/catalog", "/v1/catalog", tok, empty()).await.expect(200);
    s.call(Method::GET, "/v1/catalog", "/v1/catalog", None, empty()).await.expect_problem(401);
    s.call(Method::GET, "/v1/municipalities/{code}", "/v1/municipalities/999000", Some(ADMIN), empty())
        .await
        .expect_problem(404);
    let tokens = "/v1/municipalities/{code}/tokens";
    let spare =
        s.call(Method::POST, tokens, &m("/tokens"), Some(ADMIN), Payload::Json(json!({ "label": "spare" }))).await;
    let spare_id = spare.expect(201).json()["id"].as_str().unwrap().to_owned();
    s.call(
        Method::DELETE,
        "/v1/municipalities/{code}/tokens/{id}",
        &m(&format!("/tokens/{spare_id}")),
        Some(ADMIN),
        empty(),
    )
    .await
    .expect(204);
    // The revoked token is listed with its revocation time.
    s.call(Method::GET, tokens, &m("/tokens"), Some(ADMIN), empty()).await.expect(200);
    let spare_kiosk =
        s.call(Method::POST, "/v1/kiosks", "/v1/kiosks", Some(ADMIN), Payload::Json(json!({ "label": "spare" }))).await;
    let spare_kiosk = spare_kiosk.expect(201).json()["id"].as_str().unwrap().to_owned();
    s.call(Method::DELETE, "/v1/kiosks/{id}", &format!("/v1/kiosks/{spare_kiosk}"), Some(ADMIN), empty())
        .await
        .expect(204);
    s.call(Method::DELETE, "/v1/kiosks/{id}", &format!("/v1/kiosks/{spare_kiosk}"), Some(ADMIN), empty())
        .await
        .expect_problem(404);
    s.call(Method::GET, "/v1/kiosks", "/v1/kiosks", Some(ADMIN), empty()).await.expect(200);
    s.call(Method::GET, "/v1/audit", "/v1/audit?limit=5", Some(ADMIN), empty()).await.expect(200);
    s.call(Method::GET, "/v1/audit", "/v1/audit?limit=0", Some(ADMIN), empty()).await.expect_problem(422);

    // Plugins: upload (new and again), list, show, activate, dry-run, roll back.
    let plugins = "/v1/municipalities/{code}/plugins";
    let mut hashes = BTreeMap::new();
    for (kind, path) in [
        ("residence-certificate", guests::RESIDENCE),
        ("seal-registration-certificate", guests::SEAL),
        ("tax-certificate", guests::TAX),
        ("broken", guests::BROKEN_RELEASE),
    ] {
        let reply = s
            .call(
                Method::POST,
                plugins,
                &m("/plugins"),
                tok,
                Payload::Raw("application/wasm", kofu_tests::component(path)),
            )
            .await;
        hashes.insert(kind, reply.expect(201).json()["hash"].as_str().unwrap().to_owned());
    }
    s.call(
        Method::POST,
        plugins,
        &m("/plugins"),
        tok,
        Payload::Raw("application/wasm", kofu_tests::component(guests::TAX)),
    )
    .await
    .expect(200);
    s.call(Method::POST, plugins, &m("/plugins"), tok, Payload::Raw("application/wasm", b"not wasm".to_vec()))
        .await
        .expect_problem(422);
    let install = |name: &str| Payload::Json(json!({ "catalog": name }));
    // The suites' build of the seal plugin is byte for byte the bundled one.
    s.call(Method::POST, plugins, &m("/plugins"), tok, install("seal")).await.expect(200);
    s.call(Method::POST, plugins, &m("/plugins"), tok, install("passport")).await.expect_problem(404);
    let activate = "/v1/municipalities/{code}/plugins/{hash}/activate";
    let override_ = || Payload::Json(json!({ "override_reason": "schema test" }));
    for kind in ["residence-certificate", "seal-registration-certificate", "broken", "tax-certificate"] {
        s.call(Method::POST, activate, &m(&format!("/plugins/{}/activate", hashes[kind])), tok, override_())
            .await
            .expect(200);
    }
    let rollback = "/v1/municipalities/{code}/kinds/{kind}/rollback";
    s.call(Method::POST, rollback, &m("/kinds/residence-certificate/rollback"), tok, empty()).await.expect_problem(409);
    s.call(Method::POST, rollback, &m("/kinds/tax-certificate/rollback"), tok, empty()).await.expect(200);
    s.call(Method::POST, activate, &m(&format!("/plugins/{}/activate", hashes["tax-certificate"])), tok, override_())
        .await
        .expect(200);
    s.call(Method::GET, plugins, &m("/plugins"), tok, empty()).await.expect(200);
    s.call(
        Method::GET,
        "/v1/municipalities/{code}/plugins/{hash}",
        &m(&format!("/plugins/{}", hashes["tax-certificate"])),
        tok,
        empty(),
    )
    .await
    .expect(200);
    s.call(Method::GET, "/v1/municipalities/{code}/plugins/{hash}", &m("/plugins/00"), tok, empty())
        .await
        .expect_problem(404);

    // Register.
    let residents = "/v1/municipalities/{code}/residents";
    let mut entries = kofu_register::entries_from_fixture("R-1", "H-1", &kofu_tests::fixture("yamada-taro"), false);
    entries.extend(kofu_register::entries_from_fixture("R-2", "H-2", &kofu_tests::fixture("takahashi-jiro"), false));
    entries.extend(kofu_register::entries_from_fixture("T-1", "H-T", &kofu_tests::fixture("suzuki-yoko"), true));
    let rows: Vec<Value> = entries.iter().map(crate::common::entry_json).collect();
    s.call(Method::POST, residents, &m("/residents"), tok, Payload::Json(json!({ "residents": rows })))
        .await
        .expect(200);
    let mut bad = rows[0].clone();
    bad["sex"] = json!("unknown");
    s.call(Method::POST, residents, &m("/residents"), tok, Payload::Json(json!({ "residents": [bad] })))
        .await
        .expect_problem(422);
    let csv = "id,household,name,name_kana,birth_date,sex,address,address_since,resident_since,household_head,relationship\n\
               C-1,H-C,中村　健太,ナカムラ　ケンタ,2001-04-02,male,見本区本町1-1,2024-04-01,2024-04-01,中村　健太,世帯主\n";
    s.call(Method::POST, residents, &m("/residents"), tok, Payload::Raw("text/csv", csv.as_bytes().to_vec()))
        .await
        .expect(200);
    s.call(Method::GET, residents, &m("/residents?name=%E5%B1%B1%E7%94%B0&limit=2"), tok, empty()).await.expect(200);
    s.call(Method::GET, residents, &m("/residents?limit=0"), tok, empty()).await.expect_problem(422);
    s.call(Method::GET, residents, &m("/residents?colour=red"), tok, empty()).await.expect_problem(400);
    let resident = "/v1/municipalities/{code}/residents/{id}";
    let removal = |reason: &str| Payload::Json(json!({ "reason": reason }));
    s.call(Method::DELETE, resident, &m("/residents/C-1"), tok, removal("schema test")).await.expect(204);
    s.call(Method::DELETE, resident, &m("/residents/C-1"), tok, removal("again")).await.expect_problem(404);
    s.call(Method::DELETE, resident, &m("/residents/R-1"), tok, removal(" ")).await.expect_problem(422);
    s.call(Method::GET, resident, &m("/residents/R-1"), tok, empty()).await.expect(200);
    s.call(Method::GET, resident, &m("/residents/T-1"), tok, empty()).await.expect(200);
    s.call(Method::GET, resident, &m("/residents/nobody"), tok, empty()).await.expect_problem(404);
    s.call(
        Method::PATCH,
        resident,
        &m("/residents/C-1"),
        tok,
        Payload::Json(json!({ "residency": { "state": "moved-out", "since": "2025-01-31" } })),
    )
    .await
    .expect(200);
    s.call(Method::PATCH, resident, &m("/residents/C-1"), tok, Payload::Json(json!({ "name": "x" })))
        .await
        .expect_problem(422);
    let cards = "/v1/municipalities/{code}/cards";
    let card = s
        .call(Method::POST, cards, &m("/cards"), tok, Payload::Json(json!({ "resident_id": "R-1", "pin": "1234" })))
        .await;
    let card = card.expect(201).json()["id"].as_str().unwrap().to_owned();
    let moved = s
        .call(Method::POST, cards, &m("/cards"), tok, Payload::Json(json!({ "resident_id": "R-2", "pin": "1234" })))
        .await;
    let moved = moved.expect(201).json()["id"].as_str().unwrap().to_owned();
    s.call(Method::POST, cards, &m("/cards"), tok, Payload::Json(json!({ "resident_id": "T-1", "pin": "1234" })))
        .await
        .expect_problem(422);
    s.call(Method::POST, cards, &m("/cards"), tok, Payload::Json(json!({ "resident_id": "nobody", "pin": "1234" })))
        .await
        .expect_problem(404);
    s.call(Method::GET, cards, &m("/cards?resident=R-1&state=live&limit=1"), tok, empty()).await.expect(200);
    s.call(Method::GET, cards, &m("/cards?state=lost"), tok, empty()).await.expect_problem(400);
    s.call(Method::GET, cards, &m("/cards?limit=5000"), tok, empty()).await.expect_problem(422);

    // Dry-runs: issued, refused, failed.
    let dry_run = "/v1/municipalities/{code}/plugins/{hash}/dry-run";
    let run = |kind: &str| m(&format!("/plugins/{}/dry-run", hashes[kind]));
    let reply = s
        .call(Method::POST, dry_run, &run("residence-certificate"), tok, Payload::Json(json!({ "resident_id": "T-1" })))
        .await;
    reply.expect(200);
    assert!(reply.body.starts_with(b"%PDF"));
    let fixture = serde_json::to_value(kofu_tests::fixture("takahashi-jiro")).unwrap();
    let refused = s
        .call(
            Method::POST,
            dry_run,
            &run("residence-certificate"),
            tok,
            Payload::Json(json!({ "resident": fixture, "issue_date": "2025-11-21" })),
        )
        .await;
    assert_eq!(refused.expect_problem(422)["type"], "urn:kofu:problem:refused");
    let failed =
        s.call(Method::POST, dry_run, &run("broken"), tok, Payload::Json(json!({ "resident_id": "T-1" }))).await;
    assert_eq!(failed.expect_problem(422)["type"], "urn:kofu:problem:plugin-failed");
    s.call(Method::POST, dry_run, &run("broken"), tok, Payload::Json(json!({ "resident_id": "R-1" })))
        .await
        .expect_problem(403);
    // The same as reports, to a caller asking for JSON.
    let json_please = [("accept", "application/json")];
    for (kind, body, outcome) in [
        ("residence-certificate", json!({ "resident_id": "T-1" }), "issued"),
        ("residence-certificate", json!({ "resident": fixture, "issue_date": "2025-11-21" }), "refused"),
        ("broken", json!({ "resident_id": "T-1" }), "failed"),
    ] {
        let reply = s.call_with(Method::POST, dry_run, &run(kind), tok, Payload::Json(body), &json_please).await;
        assert_eq!(reply.expect(200).json()["outcome"], outcome);
    }

    // Kiosk.
    let sessions = "/v1/kiosk/sessions";
    let wrong = s
        .call(Method::POST, sessions, sessions, Some(&kiosk), Payload::Json(json!({ "card_id": card, "pin": "0000" })))
        .await;
    assert_eq!(wrong.expect_problem(403)["attempts_left"], 2);
    s.call(
        Method::POST,
        sessions,
        sessions,
        Some(&kiosk),
        Payload::Json(json!({ "card_id": "no-card", "pin": "0000" })),
    )
    .await
    .expect_problem(403);
    let card_route = "/v1/municipalities/{code}/cards/{id}";
    s.call(Method::GET, card_route, &m(&format!("/cards/{card}")), tok, empty()).await.expect(200);
    s.call(
        Method::POST,
        "/v1/municipalities/{code}/cards/{id}/unlock",
        &m(&format!("/cards/{card}/unlock")),
        tok,
        empty(),
    )
    .await
    .expect(200);
    let open = s
        .call(Method::POST, sessions, sessions, Some(&kiosk), Payload::Json(json!({ "card_id": card, "pin": "1234" })))
        .await;
    let session = open.expect(201).json()["session_id"].as_str().unwrap().to_owned();
    let k = |rest: &str| format!("/v1/kiosk/sessions/{session}{rest}");
    s.call(Method::GET, "/v1/kiosk/sessions/{session}/certificates", &k("/certificates"), Some(&kiosk), empty())
        .await
        .expect(200);
    let issue = "/v1/kiosk/sessions/{session}/issuances";
    let issued = s
        .call_with(
            Method::POST,
            issue,
            &k("/issuances"),
            Some(&kiosk),
            Payload::Json(json!({ "kind": "tax-certificate" })),
            &[("idempotency-key", "k1")],
        )
        .await;
    let issued = issued.expect(201).json();
    let id = issued["id"].as_str().unwrap().to_owned();
    s.call(Method::POST, issue, &k("/issuances"), Some(&kiosk), Payload::Json(json!({ "kind": "tax-certificate" })))
        .await
        .expect_problem(400);
    s.call_with(
        Method::POST,
        issue,
        &k("/issuances"),
        Some(&kiosk),
        Payload::Json(json!({ "kind": "nothing" })),
        &[("idempotency-key", "k2")],
    )
    .await
    .expect_problem(404);
    let view = "/v1/kiosk/sessions/{session}/issuances/{id}";
    s.call(Method::GET, view, &k(&format!("/issuances/{id}")), Some(&kiosk), empty()).await.expect(200);
    let document = "/v1/kiosk/sessions/{session}/issuances/{id}/document";
    let pdf = s.call(Method::GET, document, &k(&format!("/issuances/{id}/document")), Some(&kiosk), empty()).await;
    assert!(pdf.expect(200).body.starts_with(b"%PDF"));
    let printed = "/v1/kiosk/sessions/{session}/issuances/{id}/printed";
    s.call(Method::POST, printed, &k(&format!("/issuances/{id}/printed")), Some(&kiosk), empty()).await.expect(200);
    s.call(Method::GET, document, &k(&format!("/issuances/{id}/document")), Some(&kiosk), empty())
        .await
        .expect_problem(410);
    let code_printed = issued["verification_code"].as_str().unwrap();
    s.call(Method::GET, "/v1/verify/{code}", &format!("/v1/verify/{code_printed}"), None, empty()).await.expect(200);
    s.call(Method::GET, "/v1/verify/{code}", "/v1/verify/0000-0000-0000", None, empty()).await.expect_problem(404);
    s.call(Method::GET, "/v1/municipalities/{code}/issuances/{id}", &m(&format!("/issuances/{id}")), tok, empty())
        .await
        .expect(200);
    let list = "/v1/municipalities/{code}/issuances";
    let listed =
        s.call(Method::GET, list, &m("/issuances?outcome=issued&limit=5"), tok, empty()).await.expect(200).json();
    assert_eq!(listed["issuances"][0]["id"], id, "{listed}");
    let number = issued["number"].as_str().unwrap();
    s.call(Method::GET, list, &m(&format!("/issuances?number={number}")), tok, empty()).await.expect(200);
    s.call(Method::GET, list, &m("/issuances?from=yesterday"), tok, empty()).await.expect_problem(422);
    s.call(Method::GET, list, &m("/issuances?colour=red"), tok, empty()).await.expect_problem(400);
    let void = "/v1/municipalities/{code}/issuances/{id}/void";
    let body = || Payload::Json(json!({ "reason": "wrong-content", "note": "schema test" }));
    s.call(Method::POST, void, &m(&format!("/issuances/{id}/void")), tok, body()).await.expect(200);
    s.call(Method::POST, void, &m(&format!("/issuances/{id}/void")), tok, body()).await.expect_problem(409);
    s.call(Method::POST, void, &m("/issuances/nothing/void"), tok, body()).await.expect_problem(404);
    let bad = Payload::Json(json!({ "reason": "bored", "note": "x" }));
    s.call(Method::POST, void, &m(&format!("/issuances/{id}/void")), tok, bad).await.expect_problem(422);
    let voided = s.call(Method::GET, "/v1/verify/{code}", &format!("/v1/verify/{code_printed}"), None, empty()).await;
    assert_eq!(voided.expect(200).json()["valid"], false);

    // A refused issuance: the moved-out resident.
    let open = s
        .call(Method::POST, sessions, sessions, Some(&kiosk), Payload::Json(json!({ "card_id": moved, "pin": "1234" })))
        .await;
    let moved_session = open.expect(201).json()["session_id"].as_str().unwrap().to_owned();
    let route = format!("/v1/kiosk/sessions/{moved_session}/issuances");
    let refused = s
        .call_with(
            Method::POST,
            issue,
            &route,
            Some(&kiosk),
            Payload::Json(json!({ "kind": "residence-certificate", "options": { "include-household": true } })),
            &[("idempotency-key", "k3")],
        )
        .await;
    let refused = refused.expect(201).json();
    assert_eq!(refused["outcome"], "refused");
    let refused_id = refused["id"].as_str().unwrap();
    s.call(Method::POST, printed, &format!("{route}/{refused_id}/printed"), Some(&kiosk), empty())
        .await
        .expect_problem(409);
    s.call(
        Method::GET,
        "/v1/municipalities/{code}/issuances/{id}",
        &m(&format!("/issuances/{refused_id}")),
        tok,
        empty(),
    )
    .await
    .expect(200);
    s.call(
        Method::DELETE,
        "/v1/kiosk/sessions/{session}",
        &format!("/v1/kiosk/sessions/{moved_session}"),
        Some(&kiosk),
        empty(),
    )
    .await
    .expect(204);
    s.call(
        Method::GET,
        "/v1/kiosk/sessions/{session}/certificates",
        &format!("/v1/kiosk/sessions/{moved_session}/certificates"),
        Some(&kiosk),
        empty(),
    )
    .await
    .expect_problem(410);
    s.call(
        Method::GET,
        "/v1/kiosk/sessions/{session}/certificates",
        "/v1/kiosk/sessions/none/certificates",
        Some(&kiosk),
        empty(),
    )
    .await
    .expect_problem(404);

    // Audit: pages (with and without a next page), the export, bad queries.
    let audit = "/v1/municipalities/{code}/audit";
    let page = s.call(Method::GET, audit, &m("/audit?limit=1"), tok, empty()).await.expect(200).json();
    assert!(page["next_after"].is_i64(), "{page}");
    let page = s.call(Method::GET, audit, &m("/audit"), tok, empty()).await.expect(200).json();
    assert!(page["next_after"].is_null(), "{page}");
    s.call(Method::GET, audit, &m("/audit?limit=0"), tok, empty()).await.expect_problem(422);
    s.call(Method::GET, audit, &m("/audit?limit=x"), tok, empty()).await.expect_problem(400);
    let export = s.call(Method::GET, "/v1/municipalities/{code}/audit/export", &m("/audit/export"), tok, empty()).await;
    for line in export.expect(200).text().lines() {
        let mut errors = Vec::new();
        validate(
            &json!({ "$ref": "#/components/schemas/AuditEntry" }),
            &serde_json::from_str(line).unwrap(),
            "line",
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    // The municipality verifies its log; the vendor reads the counts.
    let verify = "/v1/municipalities/{code}/audit/verify";
    let verified = s.call(Method::POST, verify, &m("/audit/verify"), tok, empty()).await.expect(200).json();
    assert_eq!(verified["ok"], true, "{verified}");
    s.call(Method::POST, verify, &m("/audit/verify"), tok, Payload::Json(json!({ "sample": 1 }))).await.expect(200);
    s.call(Method::POST, verify, &m("/audit/verify"), tok, Payload::Json(json!({ "sample": 0 })))
        .await
        .expect_problem(400);
    s.call(Method::POST, verify, &m("/audit/verify"), tok, Payload::Json(json!({ "every": true })))
        .await
        .expect_problem(422);
    s.call(Method::POST, verify, &m("/audit/verify"), Some(ADMIN), empty()).await.expect_problem(403);
    s.call(Method::GET, "/v1/stats", "/v1/stats", Some(ADMIN), empty()).await.expect(200);
    s.call(Method::GET, "/v1/stats", "/v1/stats", tok, empty()).await.expect_problem(403);

    // Revocations.
    s.call(Method::DELETE, card_route, &m(&format!("/cards/{moved}")), tok, empty()).await.expect(204);
    s.call(Method::GET, card_route, &m(&format!("/cards/{moved}")), tok, empty()).await.expect(200);
    s.call(Method::DELETE, card_route, &m(&format!("/cards/{moved}")), tok, empty()).await.expect_problem(404);
    s.call(Method::DELETE, "/v1/kiosk/sessions/{session}", &k(""), Some(&kiosk), empty()).await.expect(204);
    let metrics = s.call(Method::GET, "/metrics", "/metrics", None, empty()).await;
    assert!(metrics.expect(200).content_type.starts_with("text/plain"));

    assert!(s.failures.is_empty(), "replies that do not conform to openapi.json:\n{}", s.failures.join("\n"));
    // Every operation was exercised with a success.
    let unexercised: Vec<_> = documented_operations()
        .into_iter()
        .filter(|op| !s.seen.get(op).is_some_and(|statuses| statuses.iter().any(|s| (200..300).contains(s))))
        .collect();
    assert!(unexercised.is_empty(), "operations never answered with success here: {unexercised:?}");
}

#[test]
fn the_conformance_check_catches_what_does_not_conform() {
    use axum::http::StatusCode;
    let reply = |status: u16, content_type: &str, body: Value| Reply {
        status: StatusCode::from_u16(status).unwrap(),
        content_type: content_type.into(),
        headers: Default::default(),
        body: if body.is_null() { Vec::new() } else { body.to_string().into_bytes() },
    };
    let health = json!({ "status": "ok", "build": "kofu" });
    assert_eq!(conformance("GET", "/healthz", &reply(200, "application/json", health.clone())), Ok(()));
    let bad = [
        ("a missing member", reply(200, "application/json", json!({ "status": "ok" }))),
        ("an extra member", reply(200, "application/json", json!({ "status": "ok", "build": "x", "extra": 1 }))),
        ("a wrong const", reply(200, "application/json", json!({ "status": "fine", "build": "x" }))),
        ("a wrong type", reply(200, "application/json", json!({ "status": "ok", "build": 1 }))),
        ("a wrong content type", reply(200, "text/html", health.clone())),
        ("an undocumented status", reply(418, "application/json", health)),
    ];
    for (what, reply) in bad {
        assert!(conformance("GET", "/healthz", &reply).is_err(), "{what} passed");
    }
    // Nullable members, nested references and `oneOf`.
    let verification = |pages: Value, name: Value| {
        json!({
            "valid": true, "number": "N", "kind": "k", "municipality": { "code": "1", "name": name },
            "issue_date": "2025-11-21", "pages": pages, "document_hash": null, "voided": null
        })
    };
    let verify = |body: Value| conformance("GET", "/v1/verify/{code}", &reply(200, "application/json", body));
    assert_eq!(verify(verification(json!(1), json!("市"))), Ok(()));
    assert_eq!(verify(verification(json!(null), json!("市"))), Ok(()));
    assert!(verify(verification(json!("1"), json!("市"))).is_err());
    assert!(verify(verification(json!(1), json!(null))).is_err());
    // A body where none is documented, and problem documents.
    let revoke = "/v1/kiosks/{id}";
    assert_eq!(conformance("DELETE", revoke, &reply(204, "", Value::Null)), Ok(()));
    assert!(conformance("DELETE", revoke, &reply(204, "application/json", json!({}))).is_err());
    let problem = json!({ "type": "urn:kofu:problem:not-found", "title": "Not found", "status": 404, "detail": "d" });
    assert_eq!(conformance("DELETE", revoke, &reply(404, "application/problem+json", problem.clone())), Ok(()));
    assert!(conformance("DELETE", revoke, &reply(404, "application/json", problem)).is_err());
    let incomplete = json!({ "type": "urn:kofu:problem:not-found", "status": 404 });
    assert!(conformance("DELETE", revoke, &reply(404, "application/problem+json", incomplete)).is_err());
    let option = json!({ "$ref": "#/components/schemas/OptionValue" });
    for (value, ok) in [(json!({ "flag": true }), true), (json!({ "flag": 1 }), false), (json!({}), false)] {
        let mut errors = Vec::new();
        validate(&option, &value, "option", &mut errors);
        assert_eq!(errors.is_empty(), ok, "{value}: {errors:?}");
    }
}

//! The authorization matrix: every endpoint of the router, called by every
//! kind of caller — the vendor, municipality A (whose resources every
//! request targets), municipality B, a kiosk, another kiosk, no credentials
//! and an invalid credential — with valid requests, so that a refusal can
//! only come from authorization. Refusals must change nothing.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::{ADMIN, Muni, Payload, Reply, TestServer, entry_json};
use crate::openapi;

pub(crate) const A: &str = "111112";
pub(crate) const B: &str = "222224";
/// Not a credential the server issued.
const INVALID: &str = "kofu_mun_this-token-was-never-issued";

/// Two municipalities with the bundled plugins, residents, cards and
/// tokens; two kiosks, one with open sessions and issued documents.
pub(crate) struct World {
    pub server: TestServer,
    pub a: Muni,
    pub b: Muni,
    pub kiosk: String,
    pub other_kiosk: String,
    /// A's card for R-1 (PIN 1234): sessions are opened with it.
    pub card: String,
    /// A's card for R-2, for the revocation row.
    pub spare_card: String,
    /// B's card for B-1.
    pub b_card: String,
    /// A second token of A, for the revocation row.
    pub spare_token: String,
    /// A kiosk that only the revocation row uses.
    pub spare_kiosk: String,
    /// The kiosk's session for R-1.
    pub session: String,
    /// Another session of the kiosk, for the close row.
    pub spare_session: String,
    /// An issued tax certificate of `session`, ready for delivery.
    pub issuance: String,
    /// An issued seal certificate of `session`, for the printed row.
    pub to_print: String,
    /// The verification code of `issuance`.
    pub code: String,
    /// A's residence-certificate plugin.
    pub residence: String,
    /// A's faulty tax-certificate 2.0.0, which only A has.
    pub broken: String,
}

fn id_of(reply: &Reply) -> String {
    reply.json()["id"].as_str().unwrap_or_else(|| panic!("no id: {}", reply.text())).to_owned()
}

impl World {
    pub(crate) async fn new() -> World {
        use kofu_tests::{component, guests};
        let server = TestServer::new().await;
        let a = server.municipality(A, "一市").await;
        let b = server.municipality(B, "二市").await;
        server.activate_bundled(&a).await;
        server.activate_bundled(&b).await;
        // A's tax-certificate has an earlier version to roll back to.
        let broken = server.activate(&a, component(guests::BROKEN_RELEASE)).await;
        server.activate(&a, component(guests::TAX)).await;
        let residence = server.upload(&a, component(guests::RESIDENCE)).await.expect(200).json()["hash"]
            .as_str()
            .expect("hash")
            .to_owned();

        server.import_fixture(&a, "R-1", "yamada-taro").await;
        server.import_fixture(&a, "R-2", "suzuki-yoko").await;
        // Only the removal row uses R-3.
        server.import_fixture(&a, "R-3", "ito-misaki").await;
        let test = kofu_register::entries_from_fixture("T-1", "H-T-1", &kofu_tests::fixture("kimura-aoi"), true);
        server.import_entries(&a, &test).await.expect(200);
        server.import_fixture(&b, "B-1", "sato-makoto").await;

        let kiosk = server.kiosk("store 1").await;
        let other_kiosk = server.kiosk("store 2").await;
        let spare_kiosk = id_of(server.post("/v1/kiosks", Some(ADMIN), json!({ "label": "spare" })).await.expect(201));
        let spare_token = id_of(
            server
                .post(&format!("/v1/municipalities/{A}/tokens"), Some(ADMIN), json!({ "label": "spare" }))
                .await
                .expect(201),
        );

        let holder = server.card(&a, "R-1", "1234").await;
        let card = server.get(&format!("/v1/municipalities/{A}/cards/{}", holder.card), Some(&a.token)).await;
        assert_eq!(card.expect(200).json()["resident"], holder.resident.as_str());
        let spare_card = server.card(&a, "R-2", "4321").await.card;
        let b_card = server.card(&b, "B-1", "1111").await.card;
        let session = server.session(&kiosk, &holder).await;
        let spare_session = server.session(&kiosk, &holder).await;
        let issued = server.issue(&kiosk, &session, "setup-1", "tax-certificate", json!({})).await.expect(201).json();
        assert_eq!(issued["outcome"], "issued", "{issued}");
        let printable = server
            .issue(&kiosk, &session, "setup-2", "seal-registration-certificate", json!({}))
            .await
            .expect(201)
            .json();
        assert_eq!(printable["outcome"], "issued", "{printable}");
        World {
            a,
            b,
            kiosk,
            other_kiosk,
            card: holder.card,
            spare_card,
            b_card,
            spare_token,
            spare_kiosk,
            session,
            spare_session,
            issuance: issued["id"].as_str().unwrap().to_owned(),
            to_print: printable["id"].as_str().unwrap().to_owned(),
            code: issued["verification_code"].as_str().unwrap().to_owned(),
            residence,
            broken,
            server,
        }
    }

    /// Everything a refused request could have changed, as the vendor, the
    /// municipalities and the kiosk see it.
    pub(crate) async fn snapshot(&self) -> BTreeMap<String, Value> {
        let (a, b) = (Some(self.a.token.as_str()), Some(self.b.token.as_str()));
        let reads: Vec<(String, Option<&str>)> = vec![
            ("/v1/municipalities".into(), Some(ADMIN)),
            ("/v1/kiosks".into(), Some(ADMIN)),
            (format!("/v1/municipalities/{A}/tokens"), Some(ADMIN)),
            (format!("/v1/municipalities/{B}/tokens"), Some(ADMIN)),
            (format!("/v1/municipalities/{A}/plugins"), a),
            (format!("/v1/municipalities/{B}/plugins"), b),
            (format!("/v1/municipalities/{A}/residents/R-1"), a),
            (format!("/v1/municipalities/{A}/residents/R-2"), a),
            (format!("/v1/municipalities/{A}/residents/T-1"), a),
            (format!("/v1/municipalities/{A}/residents/N-1"), a),
            (format!("/v1/municipalities/{A}/residents/N-2"), a),
            (format!("/v1/municipalities/{B}/residents/B-1"), b),
            (format!("/v1/municipalities/{A}/cards/{}", self.card), a),
            (format!("/v1/municipalities/{A}/cards/{}", self.spare_card), a),
            (format!("/v1/municipalities/{B}/cards/{}", self.b_card), b),
            (format!("/v1/municipalities/{A}/audit/export"), a),
            (format!("/v1/municipalities/{B}/audit/export"), b),
            (format!("/v1/municipalities/{A}/issuances/{}", self.issuance), a),
            (format!("/v1/municipalities/{A}/issuances/{}", self.to_print), a),
            (format!("/v1/kiosk/sessions/{}/certificates", self.session), Some(&self.kiosk)),
            (format!("/v1/kiosk/sessions/{}/certificates", self.spare_session), Some(&self.kiosk)),
        ];
        let mut state = BTreeMap::new();
        for (path, token) in reads {
            let reply = self.server.get(&path, token).await;
            let body = match reply.content_type.as_str() {
                "application/json" | "application/problem+json" => reply.json(),
                _ => Value::String(reply.text()),
            };
            state.insert(path, json!({ "status": reply.status.as_u16(), "body": body }));
        }
        state
    }

    /// The differences between two snapshots, in words.
    pub(crate) fn changes(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Vec<String> {
        before
            .iter()
            .filter(|(path, value)| after.get(*path) != Some(value))
            .map(|(path, value)| format!("GET {path} was {value}, is now {}", after[path]))
            .collect()
    }
}

/// The callers of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Vendor,
    MunicipalityA,
    MunicipalityB,
    Kiosk,
    OtherKiosk,
    Anonymous,
    Invalid,
}

const CALLERS: [Who; 7] =
    [Who::Vendor, Who::MunicipalityA, Who::MunicipalityB, Who::Kiosk, Who::OtherKiosk, Who::Anonymous, Who::Invalid];

impl Who {
    fn token(self, w: &World) -> Option<&str> {
        match self {
            Who::Vendor => Some(ADMIN),
            Who::MunicipalityA => Some(&w.a.token),
            Who::MunicipalityB => Some(&w.b.token),
            Who::Kiosk => Some(&w.kiosk),
            Who::OtherKiosk => Some(&w.other_kiosk),
            Who::Anonymous => None,
            Who::Invalid => Some(INVALID),
        }
    }
}

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug)]
enum Access {
    /// Anyone, with or without (valid) credentials.
    Anyone,
    Vendor,
    /// The vendor, or municipality A itself (whose code is in the path).
    VendorOrOwn,
    /// Municipality A itself.
    Own,
    /// The vendor or any municipality (what is not one municipality's).
    VendorOrAnyMunicipality,
    /// Any kiosk.
    Kiosk,
    /// The kiosk that opened the session; to another kiosk the session does
    /// not exist (404).
    SessionKiosk,
}

impl Access {
    /// The roles openapi.json must state.
    fn documented(self) -> &'static [&'static str] {
        match self {
            Access::Anyone => &["anyone"],
            Access::Vendor => &["vendor"],
            Access::VendorOrOwn | Access::VendorOrAnyMunicipality => &["vendor", "municipality"],
            Access::Own => &["municipality"],
            Access::Kiosk | Access::SessionKiosk => &["kiosk"],
        }
    }

    fn expect(self, who: Who) -> Expect {
        match (self, who) {
            (Access::Anyone, _) => Expect::Allowed,
            (_, Who::Anonymous | Who::Invalid) => Expect::Refused(401, "unauthorized"),
            (Access::Vendor, Who::Vendor)
            | (Access::VendorOrOwn, Who::Vendor | Who::MunicipalityA)
            | (Access::Own, Who::MunicipalityA)
            | (Access::VendorOrAnyMunicipality, Who::Vendor | Who::MunicipalityA | Who::MunicipalityB)
            | (Access::Kiosk, Who::Kiosk | Who::OtherKiosk)
            | (Access::SessionKiosk, Who::Kiosk) => Expect::Allowed,
            (Access::SessionKiosk, Who::OtherKiosk) => Expect::Refused(404, "not-found"),
            _ => Expect::Refused(403, "forbidden"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    /// Status and problem slug.
    Refused(u16, &'static str),
}

/// One endpoint: how to call it on A's resources, who may, and what an
/// allowed caller gets.
struct Row {
    method: Method,
    route: &'static str,
    access: Access,
    ok: u16,
    path: fn(&World) -> String,
    body: fn(&World) -> Payload,
    headers: &'static [(&'static str, &'static str)],
}

fn none(_: &World) -> Payload {
    Payload::None
}

/// R-2's register entries with a new address.
fn changed_r2() -> Value {
    let mut entries = kofu_register::entries_from_fixture("R-2", "H-R-2", &kofu_tests::fixture("suzuki-yoko"), false);
    entries[0].person.address = "見本市港南三丁目1番1号".into();
    json!({ "residents": entries.iter().map(entry_json).collect::<Vec<_>>() })
}

fn rows() -> Vec<Row> {
    fn row(method: Method, route: &'static str, access: Access, ok: u16, path: fn(&World) -> String) -> Row {
        Row { method, route, access, ok, path, body: none, headers: &[] }
    }
    let with = |mut row: Row, body: fn(&World) -> Payload| {
        row.body = body;
        row
    };
    vec![
        row(Method::GET, "/healthz", Access::Anyone, 200, |_| "/healthz".into()),
        row(Method::GET, "/readyz", Access::Anyone, 200, |_| "/readyz".into()),
        row(Method::GET, "/metrics", Access::Anyone, 200, |_| "/metrics".into()),
        row(Method::GET, "/openapi.json", Access::Anyone, 200, |_| "/openapi.json".into()),
        row(Method::GET, "/v1/verify/{code}", Access::Anyone, 200, |w| format!("/v1/verify/{}", w.code)),
        with(row(Method::POST, "/v1/municipalities", Access::Vendor, 201, |_| "/v1/municipalities".into()), |_| {
            Payload::Json(
                json!({ "code": "333336", "name": "三市", "mayor_title": "三市長", "mayor_name": "見本 三郎" }),
            )
        }),
        row(Method::GET, "/v1/municipalities", Access::Vendor, 200, |_| "/v1/municipalities".into()),
        row(Method::GET, "/v1/municipalities/{code}", Access::VendorOrOwn, 200, |_| format!("/v1/municipalities/{A}")),
        with(
            row(Method::PATCH, "/v1/municipalities/{code}", Access::VendorOrOwn, 200, |_| {
                format!("/v1/municipalities/{A}")
            }),
            |_| Payload::Json(json!({ "mayor_name": "見本 次郎", "mayor_from": "2099-01-01" })),
        ),
        row(Method::GET, "/v1/catalog", Access::VendorOrAnyMunicipality, 200, |_| "/v1/catalog".into()),
        with(
            row(Method::POST, "/v1/municipalities/{code}/tokens", Access::Vendor, 201, |_| {
                format!("/v1/municipalities/{A}/tokens")
            }),
            |_| Payload::Json(json!({ "label": "another job" })),
        ),
        row(Method::GET, "/v1/municipalities/{code}/tokens", Access::Vendor, 200, |_| {
            format!("/v1/municipalities/{A}/tokens")
        }),
        row(Method::DELETE, "/v1/municipalities/{code}/tokens/{id}", Access::Vendor, 204, |w| {
            format!("/v1/municipalities/{A}/tokens/{}", w.spare_token)
        }),
        with(row(Method::POST, "/v1/kiosks", Access::Vendor, 201, |_| "/v1/kiosks".into()), |_| {
            Payload::Json(json!({ "label": "store 3" }))
        }),
        row(Method::GET, "/v1/kiosks", Access::Vendor, 200, |_| "/v1/kiosks".into()),
        row(Method::GET, "/v1/audit", Access::Vendor, 200, |_| "/v1/audit".into()),
        row(Method::GET, "/v1/stats", Access::Vendor, 200, |_| "/v1/stats".into()),
        row(Method::DELETE, "/v1/kiosks/{id}", Access::Vendor, 204, |w| format!("/v1/kiosks/{}", w.spare_kiosk)),
        with(
            row(Method::POST, "/v1/municipalities/{code}/plugins", Access::Own, 201, |_| {
                format!("/v1/municipalities/{A}/plugins")
            }),
            |_| Payload::Raw("application/wasm", kofu_tests::component(kofu_tests::guests::PANIC)),
        ),
        row(Method::GET, "/v1/municipalities/{code}/plugins", Access::Own, 200, |_| {
            format!("/v1/municipalities/{A}/plugins")
        }),
        row(Method::GET, "/v1/municipalities/{code}/plugins/{hash}", Access::Own, 200, |w| {
            format!("/v1/municipalities/{A}/plugins/{}", w.residence)
        }),
        with(
            row(Method::POST, "/v1/municipalities/{code}/plugins/{hash}/activate", Access::Own, 200, |w| {
                format!("/v1/municipalities/{A}/plugins/{}/activate", w.residence)
            }),
            |_| Payload::Json(json!({ "override_reason": "authorisation test" })),
        ),
        with(
            row(Method::POST, "/v1/municipalities/{code}/plugins/{hash}/dry-run", Access::Own, 200, |w| {
                format!("/v1/municipalities/{A}/plugins/{}/dry-run", w.residence)
            }),
            |_| Payload::Json(json!({ "resident_id": "T-1", "options": { "include-household": true } })),
        ),
        row(Method::POST, "/v1/municipalities/{code}/kinds/{kind}/rollback", Access::Own, 200, |_| {
            format!("/v1/municipalities/{A}/kinds/tax-certificate/rollback")
        }),
        with(
            row(Method::POST, "/v1/municipalities/{code}/residents", Access::Own, 200, |_| {
                format!("/v1/municipalities/{A}/residents")
            }),
            |_| Payload::Json(changed_r2()),
        ),
        row(Method::GET, "/v1/municipalities/{code}/residents/{id}", Access::Own, 200, |_| {
            format!("/v1/municipalities/{A}/residents/R-1")
        }),
        row(Method::GET, "/v1/municipalities/{code}/residents", Access::Own, 200, |_| {
            format!("/v1/municipalities/{A}/residents?household=H-R-1")
        }),
        with(
            row(Method::DELETE, "/v1/municipalities/{code}/residents/{id}", Access::Own, 204, |_| {
                format!("/v1/municipalities/{A}/residents/R-3")
            }),
            |_| Payload::Json(json!({ "reason": "authorisation test" })),
        ),
        row(Method::GET, "/v1/municipalities/{code}/cards", Access::Own, 200, |_| {
            format!("/v1/municipalities/{A}/cards?state=live")
        }),
        with(
            row(Method::PATCH, "/v1/municipalities/{code}/residents/{id}", Access::Own, 200, |_| {
                format!("/v1/municipalities/{A}/residents/R-2")
            }),
            |_| Payload::Json(json!({ "restricted": true })),
        ),
        with(
            row(Method::POST, "/v1/municipalities/{code}/cards", Access::Own, 201, |_| {
                format!("/v1/municipalities/{A}/cards")
            }),
            |_| Payload::Json(json!({ "resident_id": "R-2", "pin": "5678" })),
        ),
        row(Method::GET, "/v1/municipalities/{code}/cards/{id}", Access::Own, 200, |w| {
            format!("/v1/municipalities/{A}/cards/{}", w.card)
        }),
        row(Method::DELETE, "/v1/municipalities/{code}/cards/{id}", Access::Own, 204, |w| {
            format!("/v1/municipalities/{A}/cards/{}", w.spare_card)
        }),
        row(Method::POST, "/v1/municipalities/{code}/cards/{id}/unlock", Access::Own, 200, |w| {
            format!("/v1/municipalities/{A}/cards/{}/unlock", w.card)
        }),
        row(Method::GET, "/v1/municipalities/{code}/audit", Access::Own, 200, |_| {
            format!("/v1/municipalities/{A}/audit?after=0&limit=10")
        }),
        row(Method::GET, "/v1/municipalities/{code}/audit/export", Access::Own, 200, |_| {
            format!("/v1/municipalities/{A}/audit/export")
        }),
        with(
            row(Method::POST, "/v1/municipalities/{code}/audit/verify", Access::Own, 200, |_| {
                format!("/v1/municipalities/{A}/audit/verify")
            }),
            |_| Payload::Json(json!({ "sample": 2 })),
        ),
        row(Method::GET, "/v1/municipalities/{code}/issuances", Access::Own, 200, |_| {
            format!("/v1/municipalities/{A}/issuances?from=2020-01-01&limit=10")
        }),
        row(Method::GET, "/v1/municipalities/{code}/issuances/{id}", Access::Own, 200, |w| {
            format!("/v1/municipalities/{A}/issuances/{}", w.issuance)
        }),
        with(
            row(Method::POST, "/v1/municipalities/{code}/issuances/{id}/void", Access::Own, 200, |w| {
                format!("/v1/municipalities/{A}/issuances/{}/void", w.to_print)
            }),
            |_| Payload::Json(json!({ "reason": "other", "note": "authorisation test" })),
        ),
        with(row(Method::POST, "/v1/kiosk/sessions", Access::Kiosk, 201, |_| "/v1/kiosk/sessions".into()), |w| {
            Payload::Json(json!({ "card_id": w.card, "pin": "1234" }))
        }),
        row(Method::DELETE, "/v1/kiosk/sessions/{session}", Access::SessionKiosk, 204, |w| {
            format!("/v1/kiosk/sessions/{}", w.spare_session)
        }),
        row(Method::GET, "/v1/kiosk/sessions/{session}/certificates", Access::SessionKiosk, 200, |w| {
            format!("/v1/kiosk/sessions/{}/certificates", w.session)
        }),
        Row {
            headers: &[("idempotency-key", "authz-matrix")],
            ..with(
                row(Method::POST, "/v1/kiosk/sessions/{session}/issuances", Access::SessionKiosk, 201, |w| {
                    format!("/v1/kiosk/sessions/{}/issuances", w.session)
                }),
                |_| Payload::Json(json!({ "kind": "residence-certificate", "options": { "include-household": true } })),
            )
        },
        row(Method::GET, "/v1/kiosk/sessions/{session}/issuances/{id}", Access::SessionKiosk, 200, |w| {
            format!("/v1/kiosk/sessions/{}/issuances/{}", w.session, w.issuance)
        }),
        row(Method::GET, "/v1/kiosk/sessions/{session}/issuances/{id}/document", Access::SessionKiosk, 200, |w| {
            format!("/v1/kiosk/sessions/{}/issuances/{}/document", w.session, w.issuance)
        }),
        row(Method::POST, "/v1/kiosk/sessions/{session}/issuances/{id}/printed", Access::SessionKiosk, 200, |w| {
            format!("/v1/kiosk/sessions/{}/issuances/{}/printed", w.session, w.to_print)
        }),
    ]
}

#[test]
fn the_matrix_covers_every_route_and_agrees_with_openapi_json() {
    let rows = rows();
    let in_matrix: std::collections::BTreeSet<(String, String)> =
        rows.iter().map(|r| (r.method.to_string(), r.route.to_owned())).collect();
    assert_eq!(in_matrix.len(), rows.len(), "a route is in the matrix twice");
    assert_eq!(in_matrix, openapi::routes_in_source(), "the matrix and routes/mod.rs disagree");
    for row in &rows {
        let documented: Vec<&str> = openapi::operation(row.method.as_str(), row.route)["x-kofu-roles"]
            .as_array()
            .expect("x-kofu-roles")
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(documented, row.access.documented(), "{} {}: roles in openapi.json", row.method, row.route);
    }
}

/// Call `row` as `who`; record what is wrong with the answer.
async fn check(w: &World, row: &Row, who: Who, failures: &mut Vec<String>) {
    let path = (row.path)(w);
    let name = format!("{} {}", row.method, row.route);
    let reply = w.server.call_with(row.method.clone(), &path, who.token(w), (row.body)(w), row.headers).await;
    let status = reply.status.as_u16();
    if let Err(problem) = openapi::conformance(row.method.as_str(), row.route, &reply) {
        failures.push(format!("{name} as {who:?}: {problem}"));
    }
    match row.access.expect(who) {
        Expect::Allowed if status != row.ok => {
            failures.push(format!("{name} as {who:?}: should be allowed ({}), got {status}: {}", row.ok, reply.text()))
        }
        Expect::Allowed => {}
        Expect::Refused(expected, slug) => {
            let problem = (reply.content_type == "application/problem+json")
                .then(|| serde_json::from_slice::<Value>(&reply.body).ok())
                .flatten();
            let kind = problem.as_ref().and_then(|p| p["type"].as_str()).unwrap_or("");
            if status != expected || kind != format!("urn:kofu:problem:{slug}") {
                failures.push(format!(
                    "{name} as {who:?}: should be refused with {expected} {slug}, got {status} ({}): {}",
                    reply.content_type,
                    reply.text()
                ));
            }
        }
    }
}

#[tokio::test]
async fn every_endpoint_admits_exactly_its_callers_and_refusals_change_nothing() {
    let w = World::new().await;
    let mut failures = Vec::new();
    for row in rows() {
        // The refused callers first: had one got through, the allowed
        // caller's answer would show it too (a 409, a 404...).
        let (allowed, refused): (Vec<Who>, Vec<Who>) =
            CALLERS.iter().partition(|who| row.access.expect(**who) == Expect::Allowed);
        if !refused.is_empty() {
            let before = w.snapshot().await;
            for who in refused {
                check(&w, &row, who, &mut failures).await;
            }
            for change in World::changes(&before, &w.snapshot().await) {
                failures.push(format!("{} {}: a refused request changed state: {change}", row.method, row.route));
            }
        }
        for who in allowed {
            check(&w, &row, who, &mut failures).await;
        }
    }
    assert!(failures.is_empty(), "authorization matrix failures:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn refusals_change_nothing() {
    let w = World::new().await;
    let r2 = format!("/v1/municipalities/{A}/residents/R-2");
    let before = w.server.get(&r2, Some(&w.a.token)).await.expect(200).json();

    // B's token cannot import residents into A, nor change their status.
    let import = format!("/v1/municipalities/{A}/residents");
    let refused = w.server.post(&import, Some(&w.b.token), changed_r2()).await;
    assert!(refused.expect_problem(403)["detail"].as_str().unwrap().contains("another municipality"));
    w.server
        .call(Method::PATCH, &r2, Some(&w.b.token), Payload::Json(json!({ "restricted": true })))
        .await
        .expect_problem(403);
    // Nor can the vendor.
    w.server.post(&import, Some(ADMIN), changed_r2()).await.expect_problem(403);
    assert_eq!(w.server.get(&r2, Some(&w.a.token)).await.expect(200).json(), before, "A's resident changed");

    // A kiosk cannot activate or roll back a plugin, nor upload one.
    let plugins = format!("/v1/municipalities/{A}/plugins");
    let list = w.server.get(&plugins, Some(&w.a.token)).await.expect(200).json();
    let activate = format!("{plugins}/{}/activate", w.broken);
    w.server.call(Method::POST, &activate, Some(&w.kiosk), Payload::None).await.expect_problem(403);
    let rollback = format!("/v1/municipalities/{A}/kinds/tax-certificate/rollback");
    w.server.call(Method::POST, &rollback, Some(&w.kiosk), Payload::None).await.expect_problem(403);
    let wasm = kofu_tests::component(kofu_tests::guests::PANIC);
    w.server
        .call(Method::POST, &plugins, Some(&w.kiosk), Payload::Raw("application/wasm", wasm))
        .await
        .expect_problem(403);
    assert_eq!(w.server.get(&plugins, Some(&w.a.token)).await.expect(200).json(), list, "A's plugins changed");
    // The tax certificate is still the working 1.0.0.
    let reply = w.server.issue(&w.kiosk, &w.session, "after-refusals", "tax-certificate", json!({})).await;
    assert_eq!(reply.expect(201).json()["outcome"], "issued");

    // A municipality token (or the vendor) cannot open a kiosk session; a
    // wrong PIN sent that way does not count against the card.
    let card = format!("/v1/municipalities/{A}/cards/{}", w.card);
    for token in [w.a.token.as_str(), ADMIN] {
        let right = w.server.post("/v1/kiosk/sessions", Some(token), json!({ "card_id": w.card, "pin": "1234" })).await;
        let problem = right.expect_problem(403);
        assert_eq!(problem["type"], "urn:kofu:problem:forbidden");
        assert!(problem.get("session_id").is_none());
        w.server
            .post("/v1/kiosk/sessions", Some(token), json!({ "card_id": w.card, "pin": "9999" }))
            .await
            .expect_problem(403);
    }
    assert_eq!(w.server.get(&card, Some(&w.a.token)).await.expect(200).json()["failed_attempts"], 0);

    // A municipality cannot read or fetch a kiosk's issuance through the kiosk API.
    let document = format!("/v1/kiosk/sessions/{}/issuances/{}/document", w.session, w.issuance);
    w.server.get(&document, Some(&w.a.token)).await.expect_problem(403);
    let printed = format!("/v1/kiosk/sessions/{}/issuances/{}/printed", w.session, w.issuance);
    w.server.call(Method::POST, &printed, Some(&w.a.token), Payload::None).await.expect_problem(403);
    let record = w.server.get(&format!("/v1/municipalities/{A}/issuances/{}", w.issuance), Some(&w.a.token)).await;
    assert_eq!(record.expect(200).json()["delivery"], "ready");
}

#[tokio::test]
async fn another_municipality_s_ids_are_not_found() {
    let w = World::new().await;
    let before = w.snapshot().await;
    let b = |rest: &str| format!("/v1/municipalities/{B}{rest}");
    let token = Some(w.b.token.as_str());
    // A's resident, card, issuance and plugin, named under B's own code.
    for path in [
        b("/residents/R-1"),
        b(&format!("/cards/{}", w.card)),
        b(&format!("/issuances/{}", w.issuance)),
        b(&format!("/plugins/{}", w.broken)),
    ] {
        w.server.get(&path, token).await.expect_problem(404);
    }
    for (method, path, payload) in [
        (Method::PATCH, b("/residents/R-2"), Payload::Json(json!({ "restricted": true }))),
        (Method::POST, b("/cards"), Payload::Json(json!({ "resident_id": "R-1", "pin": "1234" }))),
        (Method::DELETE, b(&format!("/cards/{}", w.card)), Payload::None),
        (Method::POST, b(&format!("/cards/{}/unlock", w.card)), Payload::None),
        (Method::POST, b(&format!("/plugins/{}/activate", w.broken)), Payload::None),
        (Method::POST, b(&format!("/plugins/{}/dry-run", w.broken)), Payload::Json(json!({ "resident_id": "T-1" }))),
        // B has the same residence plugin, but not A's test resident.
        (Method::POST, b(&format!("/plugins/{}/dry-run", w.residence)), Payload::Json(json!({ "resident_id": "T-1" }))),
    ] {
        let reply = w.server.call(method.clone(), &path, token, payload).await;
        assert_eq!(reply.status.as_u16(), 404, "{method} {path} as B: {}", reply.text());
        reply.expect_problem(404);
    }
    // B has no history of A's tax-certificate to roll back to.
    w.server.call(Method::POST, &b("/kinds/tax-certificate/rollback"), token, Payload::None).await.expect_problem(409);
    // The vendor cannot revoke A's token by naming it under B.
    let revoke = b(&format!("/tokens/{}", w.spare_token));
    w.server.call(Method::DELETE, &revoke, Some(ADMIN), Payload::None).await.expect_problem(404);
    // A kiosk's session belongs to the municipality of the card, and B's
    // card opens a session at the same kiosk that sees only B's plugins.
    let holder = crate::common::Holder { resident: "B-1".into(), card: w.b_card.clone(), pin: "1111".into() };
    let b_session = w.server.session(&w.kiosk, &holder).await;
    let foreign = format!("/v1/kiosk/sessions/{b_session}/issuances/{}", w.issuance);
    w.server.get(&foreign, Some(&w.kiosk)).await.expect_problem(404);
    w.server.get(&format!("{foreign}/document"), Some(&w.kiosk)).await.expect_problem(404);
    w.server.call(Method::POST, &format!("{foreign}/printed"), Some(&w.kiosk), Payload::None).await.expect_problem(404);
    let changes = World::changes(&before, &w.snapshot().await);
    assert!(changes.is_empty(), "{changes:#?}");
}

/// Send a request with a raw Authorization header; returns (status, WWW-Authenticate, problem type).
async fn with_authorization(
    w: &World,
    method: Method,
    path: &str,
    authorization: Option<&str>,
) -> (u16, Option<String>, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response =
        w.server.app.clone().oneshot(request.body(axum::body::Body::empty()).unwrap()).await.expect("infallible");
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let kind = serde_json::from_slice::<Value>(&body).ok().and_then(|p| p["type"].as_str().map(str::to_owned));
    (status, challenge, kind.unwrap_or_default())
}

#[tokio::test]
async fn invalid_credentials_are_401_with_a_bearer_challenge_everywhere_but_the_public_endpoints() {
    let w = World::new().await;
    // A revoked municipality token and a revoked kiosk credential.
    let revoked =
        w.server.post(&format!("/v1/municipalities/{A}/tokens"), Some(ADMIN), json!({ "label": "old" })).await;
    let revoked = revoked.expect(201).json();
    let path = format!("/v1/municipalities/{A}/tokens/{}", revoked["id"].as_str().unwrap());
    w.server.call(Method::DELETE, &path, Some(ADMIN), Payload::None).await.expect(204);
    let old_kiosk = w.server.post("/v1/kiosks", Some(ADMIN), json!({ "label": "old" })).await.expect(201).json();
    let path = format!("/v1/kiosks/{}", old_kiosk["id"].as_str().unwrap());
    w.server.call(Method::DELETE, &path, Some(ADMIN), Payload::None).await.expect(204);

    let revoked_token = format!("Bearer {}", revoked["token"].as_str().unwrap());
    let revoked_kiosk = format!("Bearer {}", old_kiosk["token"].as_str().unwrap());
    let admin_with_suffix = format!("Bearer {ADMIN}x");
    let basic = "Basic dXNlcjpwYXNzd29yZA==".to_owned();
    let invalid = [
        "Bearer not-a-token".to_owned(),
        "Bearer kofu_mun_forged".to_owned(),
        "Bearer kofu_kiosk_forged".to_owned(),
        "Bearer ".to_owned(),
        ADMIN.to_owned(),
        admin_with_suffix,
        basic,
        revoked_token,
        revoked_kiosk,
    ];
    let protected = [
        (Method::GET, "/v1/municipalities".to_owned()),
        (Method::GET, format!("/v1/municipalities/{A}")),
        (Method::GET, format!("/v1/municipalities/{A}/plugins")),
        (Method::GET, format!("/v1/kiosk/sessions/{}/certificates", w.session)),
    ];
    for authorization in invalid.iter().map(|s| Some(s.as_str())).chain([None]) {
        for (method, path) in &protected {
            let (status, challenge, kind) = with_authorization(&w, method.clone(), path, authorization).await;
            assert_eq!(
                (status, challenge.as_deref(), kind.as_str()),
                (401, Some("Bearer"), "urn:kofu:problem:unauthorized"),
                "{method} {path} with Authorization {authorization:?}"
            );
        }
        for public in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
            let (status, ..) = with_authorization(&w, Method::GET, public, authorization).await;
            assert_eq!(status, 200, "{public} with Authorization {authorization:?}");
        }
        let verify = format!("/v1/verify/{}", w.code);
        assert_eq!(with_authorization(&w, Method::GET, &verify, authorization).await.0, 200);
    }
    // A refusal for the wrong role is 403 without a challenge.
    let (status, challenge, kind) =
        with_authorization(&w, Method::GET, "/v1/municipalities", Some(&format!("Bearer {}", w.kiosk))).await;
    assert_eq!((status, challenge, kind.as_str()), (403, None, "urn:kofu:problem:forbidden"));
}

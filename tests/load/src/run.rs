//! The load itself: simulated kiosks, each a task signing residents in,
//! asking for certificates, fetching and confirming them, and probing that
//! nothing reaches anyone else; and a pool checking every delivered PDF.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::check::{Delivered, Finding, NameFinder, check};
use crate::client::{Answer, Body};
use crate::oracle::{Ask, Expected, RESIDENCE, SEAL, TAX, expected, names};
use crate::report::{LedgerEntry, Report};
use crate::rng::Rng;
use crate::setup::{World, activate};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Issuance requests to make in all.
    pub issuances: u64,
    /// Stop after this long even if requests remain.
    pub duration: Option<Duration>,
    pub seed: u64,
    /// Concurrent pdftotext checks.
    pub checkers: usize,
    /// Percent of requests sent again with the same key, to compare answers.
    pub replay_percent: u32,
    /// Percent of documents probed from another kiosk and a stale session.
    pub probe_percent: u32,
    /// How long a kiosk keeps retrying a call that got no answer.
    pub retry_window: Duration,
    /// Components a municipality (the first) activates mid-run.
    pub hostile: Vec<Vec<u8>>,
    /// When, as a fraction of the requests, they are activated.
    pub hostile_at: f64,
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            issuances: 5_000,
            duration: None,
            seed: 1,
            checkers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            replay_percent: 5,
            probe_percent: 5,
            retry_window: Duration::from_secs(60),
            hostile: Vec::new(),
            hostile_at: 0.3,
            progress: false,
        }
    }
}

/// Live counters, readable while the run goes on (e.g. by a campaign that
/// kills the server at set points).
#[derive(Default)]
pub struct Live {
    pub answered: AtomicU64,
    pub issued: AtomicU64,
    pub misdeliveries: AtomicU64,
    pub retries: AtomicU64,
    pub errors: AtomicU64,
}

struct Shared {
    world: World,
    options: RunOptions,
    finder: NameFinder,
    remaining: AtomicI64,
    deadline: Option<Instant>,
    live: Arc<Live>,
    /// Set when the hostile activation starts: replaced kinds of the first
    /// municipality may fail from then on.
    hostile_started: AtomicBool,
    /// Kinds (of the first municipality) the hostile components replace.
    hostile_kinds: Mutex<Vec<String>>,
    issued_after_hostile: Vec<AtomicU64>,
}

const BUNDLED: [&str; 3] = [RESIDENCE, SEAL, TAX];

/// Run the load on a provisioned world; returns the report.
pub async fn run(world: World, options: RunOptions, live: Arc<Live>) -> anyhow::Result<Report> {
    let finder = NameFinder::new(&world.population)?;
    let towns = world.population.towns.len();
    let shared = Arc::new(Shared {
        remaining: AtomicI64::new(options.issuances as i64),
        deadline: options.duration.map(|d| Instant::now() + d),
        finder,
        live,
        hostile_started: AtomicBool::new(false),
        hostile_kinds: Mutex::new(Vec::new()),
        issued_after_hostile: (0..towns).map(|_| AtomicU64::new(0)).collect(),
        options,
        world,
    });
    let started = Instant::now();
    let (deliveries, checks) = mpsc::channel::<Delivered>(1024);
    let tally = Arc::new(Mutex::new(Report::default()));
    let checkers = spawn_checkers(&shared, checks, &tally);
    let progress = crate::progress::start(&shared.live, shared.options.issuances, shared.options.progress);
    let hostile = (!shared.options.hostile.is_empty()).then(|| tokio::spawn(hostile_activation(Arc::clone(&shared))));

    let mut rng = Rng::new(shared.options.seed);
    let mut kiosks = JoinSet::new();
    for kiosk in 0..shared.world.kiosk_tokens.len() {
        kiosks.spawn(kiosk_loop(Arc::clone(&shared), kiosk, rng.split(), deliveries.clone()));
    }
    drop(deliveries);
    let mut report = Report::default();
    while let Some(done) = kiosks.join_next().await {
        merge(&mut report, done?);
    }
    if let Some(hostile) = hostile {
        hostile.await??;
    }
    checkers.await?;
    progress.finish();
    let checked = std::mem::take(&mut *tally.lock().map_err(|_| anyhow::anyhow!("check tally poisoned"))?);
    report.checked = checked.checked;
    report.misdeliveries = checked.misdeliveries;
    report.incomplete = checked.incomplete;
    report.unreadable = checked.unreadable;
    for example in checked.examples {
        report.example(example);
    }
    report.elapsed = started.elapsed();
    if shared.hostile_started.load(Ordering::SeqCst) {
        report.issued_after_hostile = shared.issued_after_hostile.iter().map(|n| n.load(Ordering::SeqCst)).collect();
    }
    Ok(report)
}

fn merge(into: &mut Report, from: Report) {
    into.answered += from.answered;
    into.issued += from.issued;
    for (k, v) in from.refused {
        *into.refused.entry(k).or_default() += v;
    }
    for (k, v) in from.failed {
        *into.failed.entry(k).or_default() += v;
    }
    for (k, v) in from.errors {
        *into.errors.entry(k).or_default() += v;
    }
    for (k, v) in from.retries {
        *into.retries.entry(k).or_default() += v;
    }
    into.delivered += from.delivered;
    into.wrong_outcomes += from.wrong_outcomes;
    into.repeated_keys += from.repeated_keys;
    into.key_mismatches += from.key_mismatches;
    into.probes += from.probes;
    into.probe_leaks += from.probe_leaks;
    into.failures_unrecorded += from.failures_unrecorded;
    into.hostile_failures += from.hostile_failures;
    for (k, v) in from.failure_reasons {
        *into.failure_reasons.entry(k).or_default() += v;
    }
    into.issue_latency_us.extend(from.issue_latency_us);
    into.flow_latency_us.extend(from.flow_latency_us);
    into.ledger.extend(from.ledger);
    for example in from.examples {
        into.example(example);
    }
}

fn spawn_checkers(
    shared: &Arc<Shared>,
    checks: mpsc::Receiver<Delivered>,
    tally: &Arc<Mutex<Report>>,
) -> tokio::task::JoinHandle<()> {
    let checks = Arc::new(tokio::sync::Mutex::new(checks));
    let mut workers = JoinSet::new();
    for _ in 0..shared.options.checkers.max(1) {
        let (shared, checks, tally) = (Arc::clone(shared), Arc::clone(&checks), Arc::clone(tally));
        workers.spawn(async move {
            loop {
                let next = checks.lock().await.recv().await;
                let Some(delivered) = next else { return };
                let inner = Arc::clone(&shared);
                let judged = tokio::task::spawn_blocking(move || {
                    let findings = check(&inner.finder, &inner.world.population, &delivered);
                    (delivered, findings)
                })
                .await;
                let Ok((delivered, findings)) = judged else { continue };
                let misdelivered = findings.iter().any(Finding::is_misdelivery);
                if misdelivered {
                    shared.live.misdeliveries.fetch_add(1, Ordering::SeqCst);
                }
                let Ok(mut tally) = tally.lock() else { return };
                tally.checked += 1;
                if misdelivered {
                    tally.misdeliveries += 1;
                } else if findings.iter().any(|f| matches!(f, Finding::Unreadable(_))) {
                    tally.unreadable += 1;
                } else if !findings.is_empty() {
                    tally.incomplete += 1;
                }
                if !findings.is_empty() {
                    let who = &shared.world.population.people[delivered.subject];
                    tally.example(format!("issuance {} for {} ({}): {findings:?}", delivered.number, who.id, who.name));
                }
            }
        });
    }
    tokio::spawn(async move { while workers.join_next().await.is_some() {} })
}

async fn hostile_activation(shared: Arc<Shared>) -> anyhow::Result<()> {
    let threshold = (shared.options.issuances as f64 * shared.options.hostile_at) as u64;
    while shared.live.answered.load(Ordering::SeqCst) < threshold && !finished(&shared) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shared.hostile_started.store(true, Ordering::SeqCst);
    let town = &shared.world.population.towns[0];
    for component in &shared.options.hostile {
        let (_, kind) =
            activate(&shared.world.client, &town.code, &shared.world.town_tokens[0], component.clone()).await?;
        if let Ok(mut kinds) = shared.hostile_kinds.lock() {
            kinds.push(kind);
        }
    }
    Ok(())
}

fn finished(shared: &Shared) -> bool {
    shared.remaining.load(Ordering::SeqCst) <= 0 || shared.deadline.is_some_and(|d| Instant::now() >= d)
}

/// Take one request from the budget.
fn take(shared: &Shared) -> bool {
    if shared.deadline.is_some_and(|d| Instant::now() >= d) {
        return false;
    }
    shared.remaining.fetch_sub(1, Ordering::SeqCst) > 0
}

/// One kiosk's state and its share of the report.
struct Kiosk {
    shared: Arc<Shared>,
    index: usize,
    token: String,
    rng: Rng,
    report: Report,
    deliveries: mpsc::Sender<Delivered>,
    last_session: Option<String>,
}

async fn kiosk_loop(shared: Arc<Shared>, index: usize, rng: Rng, deliveries: mpsc::Sender<Delivered>) -> Report {
    let token = shared.world.kiosk_tokens[index].clone();
    let mut kiosk = Kiosk { shared, index, token, rng, report: Report::default(), deliveries, last_session: None };
    while take(&kiosk.shared) {
        let started = Instant::now();
        if kiosk.flow().await.is_some() {
            kiosk.report.flow_latency_us.push(micros(started.elapsed()));
        }
    }
    kiosk.report
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// What a step's call came to after retries.
enum Outcome {
    Answer(Answer),
    GaveUp,
}

impl Kiosk {
    fn error(&mut self, what: String) {
        self.shared.live.errors.fetch_add(1, Ordering::SeqCst);
        *self.report.errors.entry(what.clone()).or_default() += 1;
        self.report.example(what);
    }

    /// Call, retrying unchanged while there is no answer or the server says
    /// to try again, as a kiosk does: the same body and the same key.
    async fn call(
        &mut self,
        step: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Outcome {
        let window = Instant::now() + self.shared.options.retry_window;
        let mut pause = Duration::from_millis(20);
        loop {
            let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
            let answer = self
                .shared
                .world
                .client
                .call(method.clone(), path, Some(&self.token), body.clone().map(Body::Json), &headers)
                .await;
            let cause = match answer {
                Ok(answer) if !answer.is_transient() => return Outcome::Answer(answer),
                Ok(answer) => format!("{step}: {} {}", answer.status, answer.problem()),
                Err(transport) => format!("{step}: {}", transport.0),
            };
            if Instant::now() >= window {
                self.error(format!("{cause} (gave up after {:?})", self.shared.options.retry_window));
                return Outcome::GaveUp;
            }
            self.shared.live.retries.fetch_add(1, Ordering::SeqCst);
            *self.report.retries.entry(cause).or_default() += 1;
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// One resident at this kiosk: sign in, ask, fetch, confirm, sign out.
    /// `None` when a step failed (already counted).
    async fn flow(&mut self) -> Option<()> {
        let population = &self.shared.world.population;
        let subject = self.rng.below(population.people.len());
        let person = &population.people[subject];
        let body = json!({ "card_id": person.card, "pin": person.pin });
        let session = match self.call("sign-in", Method::POST, "/v1/kiosk/sessions", Some(body), None).await {
            Outcome::Answer(a) if a.status == 201 => a.json()?.get("session_id")?.as_str()?.to_owned(),
            Outcome::Answer(a) => {
                self.error(format!("sign-in: {} {}", a.status, a.problem()));
                return None;
            }
            Outcome::GaveUp => return None,
        };
        let offered = self.offered(&session).await?;
        let mut asks = vec![self.pick(&offered)];
        if self.rng.chance(30) && take(&self.shared) {
            asks.push(self.pick(&offered));
        }
        for ask in asks {
            self.ask(subject, &session, &ask).await;
        }
        let path = format!("/v1/kiosk/sessions/{session}");
        match self.call("sign-out", Method::DELETE, &path, None, None).await {
            // 410: an earlier attempt closed it and its answer was lost.
            Outcome::Answer(a) if matches!(a.status, 204 | 410) => {}
            Outcome::Answer(a) => self.error(format!("sign-out: {} {}", a.status, a.problem())),
            Outcome::GaveUp => {}
        }
        self.last_session = Some(session);
        Some(())
    }

    /// The kinds this session's municipality offers now.
    async fn offered(&mut self, session: &str) -> Option<Vec<String>> {
        let path = format!("/v1/kiosk/sessions/{session}/certificates");
        match self.call("certificates", Method::GET, &path, None, None).await {
            Outcome::Answer(a) if a.status == 200 => {
                let list = a.json()?;
                Some(list.as_array()?.iter().filter_map(|c| c["kind"].as_str().map(str::to_owned)).collect())
            }
            Outcome::Answer(a) => {
                self.error(format!("certificates: {} {}", a.status, a.problem()));
                None
            }
            Outcome::GaveUp => None,
        }
    }

    fn pick(&mut self, offered: &[String]) -> Ask {
        let others: Vec<&String> = offered.iter().filter(|k| !BUNDLED.contains(&k.as_str())).collect();
        if !others.is_empty() && self.rng.chance(10) {
            return Ask { kind: (*self.rng.pick(&others)).clone(), household: false };
        }
        match self.rng.below(4) {
            0 => Ask { kind: RESIDENCE.into(), household: false },
            1 => Ask { kind: RESIDENCE.into(), household: true },
            2 => Ask { kind: SEAL.into(), household: false },
            _ => Ask { kind: TAX.into(), household: false },
        }
    }

    async fn ask(&mut self, subject: usize, session: &str, ask: &Ask) {
        let key = self.rng.token();
        let path = format!("/v1/kiosk/sessions/{session}/issuances");
        let body = json!({ "kind": ask.kind, "options": ask.options() });
        let started = Instant::now();
        let retries_before = self.report.retries.values().sum::<u64>();
        let answer = match self.call("issue", Method::POST, &path, Some(body.clone()), Some(&key)).await {
            Outcome::Answer(a) if matches!(a.status, 200 | 201) => a,
            Outcome::Answer(a) => {
                self.error(format!("issue {}: {} {}", ask.label(), a.status, a.problem()));
                return;
            }
            Outcome::GaveUp => return,
        };
        self.report.issue_latency_us.push(micros(started.elapsed()));
        let Some(view) = answer.json() else {
            self.error("issue: the answer is not JSON".into());
            return;
        };
        let id = view["id"].as_str().unwrap_or_default().to_owned();
        let outcome = view["outcome"].as_str().unwrap_or_default().to_owned();
        self.report.ledger.push(LedgerEntry {
            kiosk: self.index,
            key: key.clone(),
            issuance: id.clone(),
            outcome: outcome.clone(),
        });
        self.report.answered += 1;
        self.shared.live.answered.fetch_add(1, Ordering::SeqCst);
        if self.report.retries.values().sum::<u64>() > retries_before {
            // Sent more than once: whatever the first attempts did, the
            // server answered one issuance (checked against the database by
            // the campaigns through the ledger).
            self.report.repeated_keys += 1;
        }
        if self.rng.chance(self.shared.options.replay_percent) {
            self.replay(&path, body, &key, &id).await;
        }
        self.judge(subject, ask, &view, &outcome);
        match outcome.as_str() {
            "issued" => self.deliver(subject, session, ask, &view, &id).await,
            "failed" => self.failed(subject, session, &id).await,
            _ => {}
        }
    }

    async fn replay(&mut self, path: &str, body: Value, key: &str, id: &str) {
        self.report.repeated_keys += 1;
        if let Outcome::Answer(again) = self.call("replay", Method::POST, path, Some(body), Some(key)).await {
            let same = again.json().and_then(|v| v["id"].as_str().map(str::to_owned)).as_deref() == Some(id);
            if !same {
                self.report.key_mismatches += 1;
                self.error(format!("replay of key {key}: {} instead of {id}", String::from_utf8_lossy(&again.body)));
            }
        }
    }

    /// Compare the outcome with the published rules.
    fn judge(&mut self, subject: usize, ask: &Ask, view: &Value, outcome: &str) {
        let population = &self.shared.world.population;
        let person = &population.people[subject];
        let town = person.town;
        if outcome == "issued" && self.shared.hostile_started.load(Ordering::SeqCst) {
            self.shared.issued_after_hostile[town].fetch_add(1, Ordering::SeqCst);
        }
        let replaced =
            town == 0 && self.shared.hostile_started.load(Ordering::SeqCst) && self.hostile_replaces(&ask.kind);
        let want = expected(population, subject, ask);
        let code = view["refusal"]["code"].as_str().unwrap_or("?").to_owned();
        match outcome {
            "issued" => self.report.issued += 1,
            "refused" => *self.report.refused.entry(code.clone()).or_default() += 1,
            _ => {
                let label =
                    if BUNDLED.contains(&ask.kind.as_str()) { ask.kind.clone() } else { "hostile plugin".into() };
                *self.report.failed.entry(label).or_default() += 1;
                if want == Expected::Failed || replaced {
                    self.report.hostile_failures += 1;
                }
            }
        }
        let agrees = match (&want, outcome) {
            (Expected::Issued, "issued") | (Expected::Failed, "failed") => true,
            (Expected::Refused(reason), "refused") => *reason == code,
            // The switch to a hostile version lands at a moment the kiosk
            // cannot see: either version's answer is right around it.
            (_, "failed") => replaced,
            _ => false,
        };
        if !agrees {
            self.report.wrong_outcomes += 1;
            let who = &population.people[subject];
            let what = format!(
                "{} for {} ({:?}, {:?}, {:?}, {:?}): expected {want:?}, got {outcome} {code}",
                ask.label(),
                who.id,
                who.status,
                who.seal,
                who.tax,
                who.restricted
            );
            self.report.example(what);
        }
    }

    /// Whether the hostile components may be replacing `kind` (their kinds
    /// are known only once uploaded; until then any bundled kind may be).
    fn hostile_replaces(&self, kind: &str) -> bool {
        self.shared
            .hostile_kinds
            .lock()
            .map_or(true, |k| k.len() < self.shared.options.hostile.len() || k.iter().any(|h| h == kind))
    }

    async fn deliver(&mut self, subject: usize, session: &str, ask: &Ask, view: &Value, id: &str) {
        let document = format!("/v1/kiosk/sessions/{session}/issuances/{id}/document");
        let retries_before = self.report.retries.values().sum::<u64>();
        let pdf = match self.call("fetch", Method::GET, &document, None, None).await {
            Outcome::Answer(a) if a.status == 200 => a.body,
            // Delivery is once only: when the answer to a fetch was lost,
            // the retry finds the bytes gone, and the resident asks again
            // (nothing was charged).
            Outcome::Answer(a) if a.status == 410 && self.report.retries.values().sum::<u64>() > retries_before => {
                *self.report.retries.entry("fetch: lost in transit, asked again".into()).or_default() += 1;
                return;
            }
            Outcome::Answer(a) => {
                self.error(format!("fetch: {} {}", a.status, a.problem()));
                return;
            }
            Outcome::GaveUp => return,
        };
        self.report.delivered += 1;
        let delivered = Delivered {
            pdf,
            subject,
            number: view["number"].as_str().unwrap_or_default().to_owned(),
            verification_code: view["verification_code"].as_str().unwrap_or_default().to_owned(),
            pages: view["pages"].as_u64().unwrap_or(0) as u32,
            names: names(&self.shared.world.population, subject, ask),
        };
        if self.deliveries.send(delivered).await.is_err() {
            self.error("the checkers stopped".into());
        }
        if self.rng.chance(self.shared.options.probe_percent) {
            self.probe_elsewhere(session, &document).await;
        }
        let printed = format!("/v1/kiosk/sessions/{session}/issuances/{id}/printed");
        match self.call("printed", Method::POST, &printed, None, None).await {
            Outcome::Answer(a) if a.status == 200 => {}
            Outcome::Answer(a) => self.error(format!("printed: {} {}", a.status, a.problem())),
            Outcome::GaveUp => return,
        }
        if self.rng.chance(self.shared.options.probe_percent) {
            // One-time delivery: printed means purged.
            self.probe(&document, None, "after printing").await;
        }
    }

    /// Another kiosk asks for this document, and this kiosk through its
    /// previous (closed) session: neither may get it.
    async fn probe_elsewhere(&mut self, session: &str, document: &str) {
        let other = (self.index + 1) % self.shared.world.kiosk_tokens.len();
        if other != self.index {
            let token = self.shared.world.kiosk_tokens[other].clone();
            self.probe(document, Some(token), "from another kiosk").await;
        }
        if let Some(stale) = self.last_session.clone() {
            let path = document.replacen(session, &stale, 1);
            self.probe(&path, None, "through a closed session").await;
        }
    }

    async fn probe(&mut self, path: &str, token: Option<String>, how: &str) {
        self.report.probes += 1;
        let token = token.unwrap_or_else(|| self.token.clone());
        let answer = self.shared.world.client.call(Method::GET, path, Some(&token), None, &[]).await;
        if let Ok(answer) = answer
            && answer.status == 200
        {
            self.report.probe_leaks += 1;
            self.error(format!("a document was delivered {how}: {path}"));
        }
    }

    /// A failed issuance: nothing fetchable, and the municipality sees why.
    async fn failed(&mut self, subject: usize, session: &str, id: &str) {
        self.probe(&format!("/v1/kiosk/sessions/{session}/issuances/{id}/document"), None, "for a failed issuance")
            .await;
        let population = &self.shared.world.population;
        let town = population.people[subject].town;
        let (code, token) = (population.towns[town].code.clone(), self.shared.world.town_tokens[town].clone());
        let path = format!("/v1/municipalities/{code}/issuances/{id}");
        let answer = self.shared.world.client.call(Method::GET, &path, Some(&token), None, &[]).await;
        let record = answer.ok().filter(|a| a.status == 200).and_then(|a| a.json());
        let reason = record
            .filter(|v| v["outcome"] == "failed")
            .and_then(|v| v["reason_code"].as_str().filter(|c| !c.is_empty()).map(str::to_owned));
        if let Some(reason) = reason {
            *self.report.failure_reasons.entry(reason).or_default() += 1;
        } else {
            self.report.failures_unrecorded += 1;
            self.report.example(format!("failed issuance {id} has no recorded reason for {code}"));
        }
    }
}

//! Part 3, end to end: `kofu serve` on loopback with its default SQLite
//! store, provisioned through the public API, and N kiosks each running the
//! whole kiosk flow back to back — sign in with card and PIN, request the
//! household residence certificate, fetch the PDF, confirm printing, sign
//! out. One issuance is one such flow, answered correctly at every step.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::Method;
use kofu_load::client::Client;
use kofu_load::population::{Mix, Population};
use kofu_load::rng::Rng;
use kofu_load::server::ServerProcess;
use kofu_load::setup::{self, World};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::certificate::{HOUSEHOLD_OPTION, KIND};
use crate::stats::Samples;
use crate::transport::TransportServer;
use crate::wire::{Connection, Reply};

/// How long one whole flow may take before it counts as an error and the
/// kiosk connects again.
const FLOW_TIMEOUT: Duration = Duration::from_secs(30);

/// The figures of one concurrency level.
pub struct Level {
    pub kiosks: usize,
    /// Paced: the issuances per second the kiosks together start (each
    /// starts one every `kiosks ÷ offered` seconds). None: back to back.
    pub offered: Option<f64>,
    pub issuances: usize,
    pub per_second: f64,
    /// Whole flow, sign-in to sign-out.
    pub flow: Samples,
    /// The issuance request alone (evaluate, render, check, record).
    pub issue: Samples,
    /// Every counted flow in the order it finished, for `--timeline`.
    pub timeline: Vec<Trace>,
    pub peak_rss_kib: Option<u64>,
    /// Server CPU time per issuance, both cores together.
    pub server_cpu_us: Option<f64>,
    /// The simulated kiosks' CPU time per issuance (this process, which
    /// shares the machine with the server).
    pub client_cpu_us: Option<f64>,
    /// The share of the machine's CPU time left idle (or waiting for I/O)
    /// in the window: whether a level is bound by the cores or by waiting.
    pub machine_idle: Option<f64>,
    /// Bytes the server wrote to the disk per issuance (WAL frames, then
    /// the checkpoints' copies of the same pages), from `/proc/PID/io`.
    pub written_per_issuance: Option<f64>,
    /// Writes committed per SQLite batch (one fsync each) in the window:
    /// how far group commit is sharing fsyncs.
    pub writes_per_batch: Option<f64>,
    /// Mean time of a batch's COMMIT (its fsync, and any checkpoint SQLite
    /// ran inside it) in the window, in ms: while it runs, no write starts.
    pub commit_ms: Option<f64>,
    pub errors: BTreeMap<String, usize>,
}

/// One counted flow: when it was due (or started) and how long each of
/// its steps took, to find when and where slow flows were slow.
pub struct Trace {
    pub kiosk: usize,
    /// When it started (paced: was due), in µs from the start of the
    /// counted window; before it (negative) for a flow that finished in the
    /// window but started earlier, such as an overloaded paced level's
    /// backlog.
    pub at_us: i64,
    pub flow: Duration,
    /// Sign-in, issuance, fetch, printed, sign-out: the calls' own times,
    /// without a paced flow's late start.
    pub steps: [Duration; 5],
}

/// The levels' traces as CSV, one line per flow, times in microseconds;
/// a level is named as in the table (`256`, `256@1000/s`).
pub fn timeline_csv(levels: &[Level]) -> String {
    let mut csv = String::from(TIMELINE_HEADER);
    for level in levels {
        let name = match level.offered {
            Some(rate) => format!("{}@{rate}/s", level.kiosks),
            None => level.kiosks.to_string(),
        };
        write_traces(&mut csv, &name, &level.timeline);
    }
    csv
}

const TIMELINE_HEADER: &str = "level,kiosk,at_us,flow_us,sign_in_us,issuance_us,fetch_us,printed_us,sign_out_us\n";

fn write_traces(csv: &mut String, level: &str, traces: &[Trace]) {
    use std::fmt::Write;
    for trace in traces {
        let _ = write!(csv, "{level},{},{},{}", trace.kiosk, trace.at_us, trace.flow.as_micros());
        for step in trace.steps {
            let _ = write!(csv, ",{}", step.as_micros());
        }
        csv.push('\n');
    }
}

/// A provisioned server.
pub struct Bench {
    server: ServerProcess,
    /// `127.0.0.1:PORT`, where the kiosks connect.
    address: Arc<str>,
    world: Arc<World>,
    next_person: Arc<AtomicUsize>,
    _data: tempfile::TempDir,
}

const ADMIN_TOKEN: &str = "kofu-bench-vendor-token-0123456789abcdef";

impl Bench {
    /// Start `kofu serve` and provision `residents` residents (households of
    /// three in four municipalities), a card each, and `kiosks` kiosks.
    pub async fn start(kofu: &Path, population: Population, kiosks: usize) -> anyhow::Result<Bench> {
        let data = tempfile::Builder::new().prefix("kofu-bench-").tempdir()?;
        let server = ServerProcess::start(kofu, data.path(), ADMIN_TOKEN, &[])?;
        let client = Client::new(&server.base_url())?;
        let world =
            setup::provision(client, ADMIN_TOKEN, population, kiosks, &[kofu_bundled::RESIDENCE.component.to_vec()])
                .await
                .context("provisioning the server")?;
        let address = server.address().into();
        Ok(Bench { server, address, world: Arc::new(world), next_person: Arc::default(), _data: data })
    }

    /// The population the benchmark provisions.
    pub fn population(seed: u64, residents: usize) -> Population {
        Population::generate_mix(&mut Rng::new(seed), 4, residents, Mix::EligibleHouseholdsOfThree)
    }

    /// Run `kiosks` kiosks for `warmup` (not counted) and then `window`,
    /// back to back or, with `offered`, paced to start that many issuances
    /// per second between them.
    pub async fn level(
        &self,
        kiosks: usize,
        offered: Option<f64>,
        warmup: Duration,
        window: Duration,
    ) -> anyhow::Result<Level> {
        let kofu = Target { address: Arc::clone(&self.address), pid: self.server.pid(), kofu: true };
        self.level_at(&kofu, kiosks, offered, warmup, window).await
    }

    /// The same kiosks, back to back, against the transport floor's server
    /// (`transport.rs`) instead of kofu: the calls without kofu's work.
    pub async fn transport_level(
        &self,
        server: &TransportServer,
        kiosks: usize,
        warmup: Duration,
        window: Duration,
    ) -> anyhow::Result<Level> {
        let target = Target { address: server.address().into(), pid: Some(server.pid()), kofu: false };
        self.level_at(&target, kiosks, None, warmup, window).await
    }

    async fn level_at(
        &self,
        target: &Target,
        kiosks: usize,
        offered: Option<f64>,
        warmup: Duration,
        window: Duration,
    ) -> anyhow::Result<Level> {
        let pid = target.pid;
        if let Some(pid) = pid {
            // Resets the peak resident set size to the current one, so each
            // level reports its own peak (Linux ≥ 4.0).
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        }
        let started = Instant::now();
        let counted_from = started + warmup;
        let end = counted_from + window;
        let mut cpu_at_start = None;
        let own = std::process::id();
        let mut tasks = tokio::task::JoinSet::new();
        let interval = offered.map(|rate| Duration::from_secs_f64(kiosks as f64 / rate));
        for kiosk in 0..kiosks {
            let world = Arc::clone(&self.world);
            let address = Arc::clone(&target.address);
            let next = Arc::clone(&self.next_person);
            // Paced kiosks start staggered evenly over one interval.
            let pace =
                interval.map(|every| Pace { every, first: started + every.mul_f64(kiosk as f64 / kiosks as f64) });
            tasks.spawn(async move { run_kiosk(&world, &address, kiosk, &next, pace, counted_from, end).await });
        }
        tokio::time::sleep_until(counted_from.into()).await;
        if let Some(pid) = pid {
            cpu_at_start = cpu_seconds(pid);
        }
        let client_cpu_at_start = cpu_seconds(own);
        let batches_at_start = if target.kofu { self.write_batches().await } else { None };
        let machine_at_start = machine_cpu_ticks();
        let written_at_start = pid.and_then(bytes_written);
        tokio::time::sleep_until(end.into()).await;
        let machine_at_end = machine_cpu_ticks();
        let written = written_at_start.zip(pid.and_then(bytes_written)).map(|(start, end)| end.saturating_sub(start));
        let batches_at_end = if target.kofu { self.write_batches().await } else { None };
        let cpu_used = match (pid.and_then(cpu_seconds), cpu_at_start) {
            (Some(now), Some(then)) => Some(now - then),
            _ => None,
        };
        let client_cpu_used = cpu_seconds(own).zip(client_cpu_at_start).map(|(now, then)| now - then);
        let mut level = Level {
            kiosks,
            offered,
            issuances: 0,
            per_second: 0.0,
            flow: Samples::default(),
            issue: Samples::default(),
            timeline: Vec::new(),
            peak_rss_kib: pid.and_then(peak_rss_kib),
            server_cpu_us: None,
            client_cpu_us: None,
            written_per_issuance: None,
            machine_idle: match (machine_at_start, machine_at_end) {
                (Some(start), Some(end)) if end.total > start.total => {
                    Some((end.idle - start.idle) as f64 / (end.total - start.total) as f64)
                }
                _ => None,
            },
            writes_per_batch: match (batches_at_start, batches_at_end) {
                (Some(start), Some(end)) if end.batches > start.batches => {
                    Some((end.writes - start.writes) as f64 / (end.batches - start.batches) as f64)
                }
                _ => None,
            },
            commit_ms: match (batches_at_start, batches_at_end) {
                (Some(start), Some(end)) if end.batches > start.batches => {
                    let spent = end.commit_seconds.zip(start.commit_seconds).map(|(end, start)| end - start);
                    spent.map(|seconds| seconds * 1e3 / (end.batches - start.batches) as f64)
                }
                _ => None,
            },
            errors: BTreeMap::new(),
        };
        while let Some(done) = tasks.join_next().await {
            let kiosk = done.context("a kiosk task panicked")?;
            level.flow.extend(kiosk.flow);
            level.issue.extend(kiosk.issue);
            level.timeline.extend(kiosk.timeline);
            for (error, n) in kiosk.errors {
                *level.errors.entry(error).or_default() += n;
            }
        }
        level.timeline.sort_by_key(|trace| trace.at_us + micros(trace.flow));
        level.issuances = level.flow.len();
        level.per_second = level.issuances as f64 / window.as_secs_f64();
        let per_issuance =
            |seconds: Option<f64>| seconds.filter(|_| level.issuances > 0).map(|s| s * 1e6 / level.issuances as f64);
        level.server_cpu_us = per_issuance(cpu_used);
        level.client_cpu_us = per_issuance(client_cpu_used);
        level.written_per_issuance =
            written.filter(|_| level.issuances > 0).map(|bytes| bytes as f64 / level.issuances as f64);
        Ok(level)
    }

    /// SQLite's group-commit counters from `/metrics`.
    async fn write_batches(&self) -> Option<Batches> {
        let answer = self.world.client.call(Method::GET, "/metrics", None, None, &[]).await.ok()?;
        let text = String::from_utf8(answer.body).ok()?;
        Batches::from_metrics(&text)
    }

    pub fn stop(mut self) -> anyhow::Result<()> {
        self.server.stop()
    }
}

/// The server a level's kiosks call, and whose process's CPU counts.
struct Target {
    /// `127.0.0.1:PORT`.
    address: Arc<str>,
    pid: Option<u32>,
    /// `kofu serve`, whose `/metrics` has the group-commit counters.
    kofu: bool,
}

/// The server's group-commit counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Batches {
    batches: u64,
    writes: u64,
    /// None from a server that predates the figure.
    commit_seconds: Option<f64>,
}

impl Batches {
    /// From the text of `/metrics` (Prometheus exposition format).
    fn from_metrics(text: &str) -> Option<Batches> {
        let value = |name: &str| kofu_load::metrics::total(text, name);
        Some(Batches {
            batches: value("kofu_store_write_batches_total")? as u64,
            writes: value("kofu_store_batched_writes_total")? as u64,
            commit_seconds: value("kofu_store_commit_seconds_total"),
        })
    }
}

#[derive(Default)]
struct KioskTimes {
    flow: Samples,
    issue: Samples,
    timeline: Vec<Trace>,
    errors: BTreeMap<String, usize>,
}

/// When a paced kiosk starts its flows.
#[derive(Clone, Copy)]
struct Pace {
    every: Duration,
    first: Instant,
}

async fn run_kiosk(
    world: &World,
    address: &str,
    kiosk: usize,
    next: &AtomicUsize,
    pace: Option<Pace>,
    counted_from: Instant,
    end: Instant,
) -> KioskTimes {
    let mut times = KioskTimes::default();
    let token = &world.kiosk_tokens[kiosk];
    let mut connection = None;
    let mut due = pace.map(|p| p.first);
    while due.unwrap_or_else(Instant::now) < end {
        // A paced flow's time counts from when it was due, not from when
        // it could start: a late start is latency too (no coordinated
        // omission).
        let started = match due {
            Some(at) => {
                tokio::time::sleep_until(at.into()).await;
                at
            }
            None => Instant::now(),
        };
        let person = &world.population.people[next.fetch_add(1, Ordering::Relaxed) % world.population.people.len()];
        let outcome = tokio::time::timeout(FLOW_TIMEOUT, async {
            // Kept only when the flow ends well: after any error the kiosk
            // connects afresh, as a terminal would.
            let mut open = match connection.take() {
                Some(open) => open,
                None => Connection::open(address, token).await?,
            };
            let steps = flow(&mut open, &person.card, &person.pin).await?;
            connection = Some(open);
            Ok::<_, String>(steps)
        })
        .await
        .unwrap_or_else(|_| Err("no answer (timeout)".into()));
        match outcome {
            Ok(steps) => {
                // A flow counts where it finishes: the window's issuances
                // per second are the ones it completed. Counting by start
                // instead left out, under overload, every flow that was
                // due in the window but still queued at its end, and the
                // paced levels reported a fraction of what the server
                // completed (and that much more CPU per issuance).
                let finished = Instant::now();
                if let Some(at_us) = counted_at(started, finished, counted_from, end) {
                    times.flow.push(finished - started);
                    times.issue.push(steps[1]);
                    times.timeline.push(Trace { kiosk, at_us, flow: finished - started, steps });
                }
            }
            Err(error) => *times.errors.entry(error).or_default() += 1,
        }
        due = due.zip(pace).map(|(at, p)| at + p.every);
    }
    times
}

#[derive(Deserialize)]
struct Opened {
    session_id: String,
}

#[derive(Deserialize)]
struct Issued {
    id: String,
    outcome: String,
    document: Option<String>,
    refusal: Option<Value>,
}

/// One kiosk issuance; returns how long each of its five calls took, or
/// what went wrong.
pub(crate) async fn flow(connection: &mut Connection, card: &str, pin: &str) -> Result<[Duration; 5], String> {
    let expect = |step: &str, reply: &Reply, status: u16| {
        if reply.status == status { Ok(()) } else { Err(format!("{step}: {} {}", reply.status, reply.problem())) }
    };
    let mut steps = [Duration::ZERO; 5];
    let body = json!({ "card_id": card, "pin": pin }).to_string().into_bytes();
    let opened = timed(&mut steps[0], connection.call(Method::POST, "/v1/kiosk/sessions", Some(body), None)).await?;
    expect("sign-in", &opened, 201)?;
    let session = serde_json::from_slice::<Opened>(&opened.body).map_err(|_| "sign-in: no session")?.session_id;
    let key = format!("bench-{:016x}{:016x}", Rng::fresh_seed(), Rng::fresh_seed());
    let body = json!({ "kind": KIND, "options": { HOUSEHOLD_OPTION: true } }).to_string().into_bytes();
    let path = format!("/v1/kiosk/sessions/{session}/issuances");
    let issued = timed(&mut steps[1], connection.call(Method::POST, &path, Some(body), Some(&key))).await?;
    expect("issuance", &issued, 201)?;
    let issued = serde_json::from_slice::<Issued>(&issued.body).map_err(|_| "issuance: not an issuance")?;
    if issued.outcome != "issued" {
        let code = issued.refusal.as_ref().and_then(|r| r.get("code")).cloned().unwrap_or(Value::Null);
        return Err(format!("issuance: {} ({code})", issued.outcome));
    }
    let document = issued.document.ok_or("issuance: no document")?;
    let pdf = timed(&mut steps[2], connection.call(Method::GET, &document, None, None)).await?;
    expect("fetch", &pdf, 200)?;
    if !pdf.body.starts_with(b"%PDF-") {
        return Err("fetch: not a PDF".into());
    }
    let path = format!("/v1/kiosk/sessions/{session}/issuances/{}/printed", issued.id);
    let printed = timed(&mut steps[3], connection.call(Method::POST, &path, None, None)).await?;
    expect("printed", &printed, 200)?;
    let path = format!("/v1/kiosk/sessions/{session}");
    let closed = timed(&mut steps[4], connection.call(Method::DELETE, &path, None, None)).await?;
    expect("sign-out", &closed, 204)?;
    Ok(steps)
}

/// Whether a flow that started (or was due) at `started` and finished at
/// `finished` counts in the window `counted_from..=end`, and if so its
/// start in µs from the window's (negative if before it).
fn counted_at(started: Instant, finished: Instant, counted_from: Instant, end: Instant) -> Option<i64> {
    if finished < counted_from || finished > end {
        return None;
    }
    Some(if started >= counted_from { micros(started - counted_from) } else { -micros(counted_from - started) })
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Await `call`, recording how long it took in `took`.
async fn timed<T>(took: &mut Duration, call: impl std::future::Future<Output = T>) -> T {
    let asked = Instant::now();
    let answer = call.await;
    *took = asked.elapsed();
    answer
}

/// User + system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    // sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on; `getconf`
    // says otherwise if not.
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Bytes a process has caused to be written to storage (`write_bytes` of
/// `/proc/PID/io`).
fn bytes_written(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines().find_map(|line| line.strip_prefix("write_bytes:")?.trim().parse().ok())
}

/// The whole machine's CPU time from `/proc/stat`, in clock ticks.
struct MachineTicks {
    total: u64,
    /// Idle and waiting for I/O.
    idle: u64,
}

fn machine_cpu_ticks() -> Option<MachineTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_ticks(stat.lines().next()?)
}

/// The aggregate `cpu` line: user nice system idle iowait irq softirq steal
/// (guest time is already counted in user).
fn parse_machine_ticks(line: &str) -> Option<MachineTicks> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields.take(8).map(str::parse).collect::<Result<_, _>>().ok()?;
    if ticks.len() < 5 {
        return None;
    }
    Some(MachineTicks { total: ticks.iter().sum(), idle: ticks[3] + ticks[4] })
}

/// Peak resident set size (VmHWM) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{Batches, TIMELINE_HEADER, Trace, counted_at, parse_machine_ticks, write_traces};

    #[test]
    fn a_timeline_line_has_the_level_the_kiosk_and_every_time_in_microseconds() {
        let ms = Duration::from_micros;
        let trace =
            Trace { kiosk: 7, at_us: 1_500, flow: ms(2_250), steps: [ms(300), ms(900), ms(500), ms(250), ms(200)] };
        // An overloaded paced level's backlog: due before the window.
        let late =
            Trace { kiosk: 8, at_us: -40_000, flow: ms(41_000), steps: [ms(200), ms(400), ms(300), ms(100), ms(100)] };
        let mut csv = String::from(TIMELINE_HEADER);
        write_traces(&mut csv, "256@1000/s", &[trace, late]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], "256@1000/s,7,1500,2250,300,900,500,250,200");
        assert_eq!(lines[2], "256@1000/s,8,-40000,41000,200,400,300,100,100");
        // As many columns as the header names.
        assert_eq!(lines[0].split(',').count(), lines[1].split(',').count());
    }

    #[test]
    fn a_flow_counts_in_the_window_it_finishes_in() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let (from, end) = (t0 + ms(2_000), t0 + ms(12_000));
        // Started and finished inside.
        assert_eq!(counted_at(t0 + ms(3_000), t0 + ms(3_010), from, end), Some(3_000_000 - 2_000_000));
        // Due during the warm-up (an overloaded paced level's backlog),
        // finished inside: it counts, its start before the window.
        assert_eq!(counted_at(t0 + ms(1_500), t0 + ms(2_100), from, end), Some(-500_000));
        // Finished in the warm-up, or after the window: it does not.
        assert_eq!(counted_at(t0 + ms(1_000), t0 + ms(1_900), from, end), None);
        assert_eq!(counted_at(t0 + ms(11_990), t0 + ms(12_001), from, end), None);
    }

    #[test]
    fn the_group_commit_counters_are_read_from_the_metrics_text() {
        let text = "# HELP kofu_store_write_batches_total SQLite write batches committed, one fsync each.\n\
                    kofu_store_write_batches_total 120\n\
                    kofu_store_batched_writes_total 3000\n\
                    kofu_store_commit_seconds_total 0.375\n\
                    kofu_store_checkpoints_total 7\n";
        assert_eq!(
            Batches::from_metrics(text),
            Some(Batches { batches: 120, writes: 3000, commit_seconds: Some(0.375) })
        );
        // An older server without the COMMIT time still gives the batching.
        let older = "kofu_store_write_batches_total 120\nkofu_store_batched_writes_total 3000\n";
        assert_eq!(Batches::from_metrics(older), Some(Batches { batches: 120, writes: 3000, commit_seconds: None }));
        // A server without them (PostgreSQL) gives none.
        assert_eq!(Batches::from_metrics("kofu_issuances_total 3\n"), None);
    }

    #[test]
    fn the_machine_line_of_proc_stat_gives_total_and_idle_ticks() {
        let ticks = parse_machine_ticks("cpu  4705 150 1120 16250 520 20 10 5 0 0").unwrap();
        assert_eq!(ticks.total, 4705 + 150 + 1120 + 16250 + 520 + 20 + 10 + 5);
        assert_eq!(ticks.idle, 16250 + 520);
        // A per-core line or anything else is not the machine's.
        assert!(parse_machine_ticks("cpu0 1 2 3 4 5 6 7 8").is_none());
        assert!(parse_machine_ticks("cpu  1 2 x 4 5").is_none());
    }
}

//! kofu-bench: how fast kofu issues a certificate, against the floor its
//! renderer sets, against the same kiosk calls answered by a server that
//! does no work (the transport floor), and against Typst and WeasyPrint,
//! measured in one run on one machine and printed as one table.
//!
//!     scripts/bench            # builds, installs the peers, runs this
//!     target/release/kofu-bench --help
//!
//! Every part produces the same certificate: a residence certificate in
//! the household form for a household of three (see `certificate.rs`).

mod certificate;
mod floor;
mod kiosks;
mod peers;
mod report;
mod sandbox;
mod stats;
mod transport;
mod wire;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use kofu_certify::Certifier;
use kofu_render::RenderOptions;
use kofu_sandbox::Limits;

#[derive(Parser)]
#[command(about = "Benchmark kofu: render floor, sandbox, the whole kiosk flow through `kofu serve`, and peers")]
struct Args {
    /// The `kofu` binary to serve with (default: next to this one).
    #[arg(long)]
    kofu: Option<PathBuf>,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of each end-to-end level run before counting starts.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Concurrent kiosks, one end-to-end level each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    kiosks: Vec<usize>,
    /// Paced end-to-end levels, as KIOSKS:PER_SECOND: that many kiosks
    /// starting that many issuances per second between them, for latency
    /// under a given load (back to back, N kiosks wait N ÷ throughput per
    /// issuance by Little's law).
    #[arg(long, value_delimiter = ',', default_value = "256:200", value_parser = parse_paced)]
    paced: Vec<(usize, f64)>,
    /// Skip the paced levels.
    #[arg(long)]
    no_paced: bool,
    /// Residents provisioned (households of three, four municipalities).
    #[arg(long, default_value_t = 3_000)]
    residents: usize,
    /// Python of the virtual environment with Typst and WeasyPrint.
    #[arg(long, default_value = "target/bench-venv/bin/python")]
    python: PathBuf,
    /// The parts to run: floor, sandbox, peers, serve, transport (the
    /// kiosk flow against a server that does no work, at the largest
    /// back-to-back level).
    #[arg(long, value_delimiter = ',', default_value = "floor,sandbox,peers,serve,transport")]
    parts: Vec<Part>,
    /// Skip the peers (Typst, WeasyPrint): the same as leaving them out of --parts.
    #[arg(long)]
    no_peers: bool,
    /// Also write every figure as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write every counted end-to-end flow here as CSV (level, kiosk,
    /// when it started, its time, and each of its five calls' times), to
    /// see when and in which call the slow ones were slow.
    #[arg(long)]
    timeline: Option<PathBuf>,
    /// Seed of the generated population.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
}

/// `KIOSKS:PER_SECOND`, e.g. `256:200`.
fn parse_paced(text: &str) -> Result<(usize, f64), String> {
    let wrong = || format!("`{text}` is not KIOSKS:PER_SECOND, e.g. 256:200");
    let (kiosks, rate) = text.split_once(':').ok_or_else(wrong)?;
    let kiosks: usize = kiosks.trim().parse().map_err(|_| wrong())?;
    let rate: f64 = rate.trim().parse().map_err(|_| wrong())?;
    if kiosks == 0 || !(rate > 0.0 && rate.is_finite()) {
        return Err(format!("`{text}`: both the kiosks and the rate must be above zero"));
    }
    Ok((kiosks, rate))
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Floor,
    Sandbox,
    Peers,
    Serve,
    Transport,
}

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args_os().skip(1);
    if raw.next().is_some_and(|first| first == transport::SERVE_FLAG) {
        let pdf = raw.next().context("the transport server needs the PDF's path")?;
        return transport::serve(std::path::Path::new(&pdf));
    }
    let args = Args::parse();
    let runs = |part: Part| args.parts.contains(&part) && !(part == Part::Peers && args.no_peers);
    let seconds = Duration::from_secs_f64(args.seconds);
    let population = kiosks::Bench::population(args.seed, args.residents);
    let certifier = Certifier::new(Limits::default(), RenderOptions::default())?;
    let certificate = certificate::build(&population, &certifier)?;
    let mut report = report::Report::new(&certificate);

    if runs(Part::Floor) {
        eprintln!("1/5 render floor ({} s)…", args.seconds);
        report.floor = Some(floor::measure(certifier.renderer(), &certificate, seconds)?);
    }
    if runs(Part::Sandbox) {
        eprintln!("2/5 sandbox ({} s per plugin)…", args.seconds);
        report.sandbox = sandbox::measure(&certifier, &certificate.request, seconds)?;
    }
    if runs(Part::Peers) {
        eprintln!("3/5 Typst and WeasyPrint ({} s each)…", args.seconds);
        report.peers = Some(peers::measure(&args.python, &certificate, seconds)?);
    }
    // The transport floor's server answers fetches with this certificate.
    let transport_pdf = match runs(Part::Transport) {
        true => Some(certifier.renderer().render(&certificate.document, &certificate.stamp)?.bytes),
        false => None,
    };
    drop(certifier);
    if runs(Part::Serve) || runs(Part::Transport) {
        let kofu = match args.kofu {
            Some(path) => path,
            None => std::env::current_exe()?.with_file_name("kofu"),
        };
        let warmup = Duration::from_secs_f64(args.warmup);
        // The kiosks share the server's two cores, so the load they add is
        // CPU the server does not get. One thread drives them all: at the
        // 256-kiosk level it needs about a quarter of a core, and without the
        // work-stealing workers' wake-ups the kiosks take less CPU per
        // issuance than on a multi-threaded runtime.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        (report.levels, report.transport) = runtime.block_on(async {
            let most = args.kiosks.iter().chain(args.paced.iter().map(|(k, _)| k)).copied().max().unwrap_or(1);
            eprintln!("4/5 end to end: starting {} and provisioning {} residents…", kofu.display(), args.residents);
            let bench = kiosks::Bench::start(&kofu, population, most).await?;
            let mut levels = Vec::new();
            for &n in args.kiosks.iter().filter(|_| runs(Part::Serve)) {
                eprintln!("    {n} kiosk(s) ({} s + {} s warm-up)…", args.seconds, args.warmup);
                levels.push(bench.level(n, None, warmup, seconds).await?);
            }
            for &(n, rate) in args.paced.iter().filter(|_| runs(Part::Serve) && !args.no_paced) {
                eprintln!("    {n} kiosk(s) paced at {rate}/s ({} s + {} s warm-up)…", args.seconds, args.warmup);
                levels.push(bench.level(n, Some(rate), warmup, seconds).await?);
            }
            let mut transport = None;
            if let Some(pdf) = &transport_pdf {
                // Not while kofu works: the server idles from here on.
                let n = args.kiosks.iter().copied().max().unwrap_or(most);
                eprintln!(
                    "5/5 transport floor: {n} kiosk(s) against a server without work ({} s + {} s warm-up)…",
                    args.seconds, args.warmup
                );
                let scratch = tempfile::Builder::new().prefix("kofu-bench-").tempdir()?;
                let path = scratch.path().join("certificate.pdf");
                std::fs::write(&path, pdf)?;
                let server = transport::TransportServer::start(&path)?;
                transport = Some(bench.transport_level(&server, n, warmup, seconds).await?);
            }
            bench.stop()?;
            anyhow::Ok((levels, transport))
        })?;
    }
    println!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report.json())?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.timeline {
        std::fs::write(path, kiosks::timeline_csv(&report.levels))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let errors: usize = report.levels.iter().chain(&report.transport).flat_map(|l| l.errors.values()).sum();
    if errors > 0 {
        anyhow::bail!("{errors} kiosk flow(s) went wrong (listed above): the figures do not count them");
    }
    Ok(())
}

//! `scripts/schemathesis` with a small budget: schemathesis (pinned in
//! tests/schemathesis/requirements.txt) generates requests for every
//! operation of /openapi.json as the vendor, the demo municipality, the
//! kiosk and anonymously, against `kofu serve --demo` over a socket, and
//! every answer must be documented (status, content type, headers, body)
//! and none a 5xx. Not being able to install schemathesis fails the test:
//! a skipped conformance run would look like a passing one.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

/// Per operation, role and phase. Most cases come from schemathesis's
/// coverage phase, which does not scale with it: with four roles and 36
/// operations this is about 9,000 cases and a minute on two cores, plus
/// about 20 s to install schemathesis the first time.
/// `scripts/schemathesis --max-examples 200` is the thorough run.
const MAX_EXAMPLES: &str = "10";
/// Past this the run is stopped and the test fails rather than holding CI.
const DEADLINE: Duration = Duration::from_secs(15 * 60);

#[test]
fn every_role_gets_only_documented_answers_and_no_server_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let log_path = root.join("target/schemathesis-test.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(root.join("scripts/schemathesis"))
        .args(["--max-examples", MAX_EXAMPLES, "--seed", "20240401"])
        // The binary this `cargo test` built: no cargo runs inside the test.
        .env("KOFU_BIN", env!("CARGO_BIN_EXE_kofu"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        // Its own process group, so a run past the deadline is stopped
        // whole (script, server, schemathesis).
        .process_group(0)
        .spawn()
        .expect("run scripts/schemathesis");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            let _ = Command::new("kill").args(["-TERM", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut output = String::new();
    std::fs::File::open(&log_path).expect("log").read_to_string(&mut output).expect("log text");
    // The summary and the failures are at the end; the log file has it all.
    let tail: String =
        output.lines().rev().take(150).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    match status {
        Some(status) => assert!(
            status.success(),
            "scripts/schemathesis failed ({status}); full output in {}:\n{tail}",
            log_path.display()
        ),
        None => panic!("scripts/schemathesis ran past {DEADLINE:?}; output so far:\n{tail}"),
    }
    assert!(output.contains("=== summary"), "no summary printed:\n{tail}");
}

//! Test support: reads PDFs back with implementations independent of ours
//! (poppler's pdftotext and pdffonts, qpdf), and normalises text for
//! comparison. A missing tool fails the test with what to install; nothing
//! is skipped.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tempfile::NamedTempFile;

fn tool(name: &str) -> Command {
    let found = Command::new(name).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(found, "`{name}` is not installed: install poppler-utils and qpdf (scripts/setup --with-pdf-tools does)");
    Command::new(name)
}

fn run(mut command: Command, stdin: &[u8]) -> Output {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start PDF tool");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write PDF to tool");
    child.wait_with_output().expect("wait for PDF tool")
}

/// The PDF on disk under a random name, removed when dropped: for the tools
/// that read only files.
fn on_disk(pdf: &[u8]) -> NamedTempFile {
    let mut file = NamedTempFile::with_suffix(".pdf").expect("temporary PDF");
    file.write_all(pdf).expect("write temporary PDF");
    file
}

/// Text of the whole PDF, or of one page (1-based), by `pdftotext`.
pub fn pdf_text(pdf: &[u8], page: Option<u32>) -> String {
    let mut command = tool("pdftotext");
    if let Some(page) = page {
        command.args(["-f", &page.to_string(), "-l", &page.to_string()]);
    }
    command.args(["-layout", "-enc", "UTF-8", "-", "-"]);
    let output = run(command, pdf);
    assert!(output.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("pdftotext prints UTF-8")
}

/// The font table `pdffonts` prints.
pub fn pdffonts(pdf: &[u8]) -> String {
    let file = on_disk(pdf);
    let mut command = tool("pdffonts");
    command.arg(file.path());
    let output = run(command, &[]);
    assert!(output.status.success(), "pdffonts failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `qpdf --check`: whether it passed without warnings, and its report.
pub fn qpdf_check(pdf: &[u8]) -> (bool, String) {
    let file = on_disk(pdf);
    let mut command = tool("qpdf");
    command.arg("--check").arg(file.path());
    let output = run(command, &[]);
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    // Exit 3 means warnings, which fail the check too.
    (output.status.code() == Some(0), report)
}

/// Text without any white space.
pub fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Text for comparison: no white space, full-width ASCII folded to ASCII,
/// so "山田　太郎" matches "山田 太郎" and "２番" matches "2番".
pub fn normalize(text: &str) -> String {
    squash(text)
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_width_and_space() {
        assert_eq!(normalize("山田　太郎 ２番（Ａ）"), "山田太郎2番(A)");
        assert_eq!(squash(" a\tb\nc "), "abc");
    }
}

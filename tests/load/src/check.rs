//! The independent check of a delivered PDF. The text comes from poppler's
//! `pdftotext`, which shares nothing with kofu's renderer or its own
//! pre-delivery check; the names come from the population, not the server.

use std::io::Write;
use std::process::{Command, Stdio};

use aho_corasick::AhoCorasick;

use crate::oracle::Names;
use crate::population::Population;

/// What is wrong with one delivered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Another resident's name: a misdelivery.
    Foreign { person: usize, name: String },
    /// A name that must be there is not: for the subject, a misdelivery
    /// (the document is not theirs); for a household member, incomplete.
    Missing { person: usize, subject: bool },
    /// A page without this issuance's number, or not "i / N": a misdelivery
    /// (the Tokushima failure: a page of someone else's document).
    PageNotBound { page: usize, pages: usize },
    /// The page count differs from what the server answered.
    PageCount { answered: u32, found: usize },
    /// pdftotext could not read it.
    Unreadable(String),
}

impl Finding {
    pub fn is_misdelivery(&self) -> bool {
        match self {
            Finding::Foreign { .. } | Finding::PageNotBound { .. } => true,
            Finding::Missing { subject, .. } => *subject,
            Finding::PageCount { .. } | Finding::Unreadable(_) => false,
        }
    }
}

/// One document as delivered, with what the kiosk was told about it.
pub struct Delivered {
    pub pdf: Vec<u8>,
    pub subject: usize,
    pub number: String,
    pub verification_code: String,
    pub pages: u32,
    pub names: Names,
}

/// Finds every population name in a text.
pub struct NameFinder {
    matcher: AhoCorasick,
}

impl NameFinder {
    pub fn new(population: &Population) -> anyhow::Result<NameFinder> {
        let patterns: Vec<String> = population.people.iter().map(|p| normalize(&p.name)).collect();
        Ok(NameFinder { matcher: AhoCorasick::new(patterns)? })
    }

    /// Population indexes of the names in `text` (normalized).
    pub fn find(&self, text: &str) -> Vec<usize> {
        let mut found: Vec<usize> = self.matcher.find_overlapping_iter(text).map(|m| m.pattern().as_usize()).collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// Text without white space, with full-width ASCII folded, so that
/// "山田　太郎" and "山田 太郎" compare equal and "１ / ２" reads "1/2".
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The text of every page, by `pdftotext` reading standard input.
pub fn page_texts(pdf: &[u8]) -> Result<Vec<String>, String> {
    let mut child = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run pdftotext ({e}): install poppler-utils"))?;
    let mut stdin = child.stdin.take().ok_or("pdftotext has no stdin")?;
    // Write on another thread: pdftotext may fill its stdout pipe first.
    let pdf = pdf.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&pdf));
    let output = child.wait_with_output().map_err(|e| format!("pdftotext: {e}"))?;
    writer.join().map_err(|_| "the pdftotext writer panicked")?.map_err(|e| format!("pdftotext stdin: {e}"))?;
    if !output.status.success() {
        return Err(format!("pdftotext failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let text = String::from_utf8(output.stdout).map_err(|_| "pdftotext printed invalid UTF-8")?;
    // pdftotext ends every page with a form feed.
    let mut pages: Vec<String> = text.split('\u{c}').map(normalize).collect();
    if pages.last().is_some_and(String::is_empty) {
        pages.pop();
    }
    Ok(pages)
}

/// Everything wrong with a delivered document; empty when it is right.
pub fn check(finder: &NameFinder, population: &Population, delivered: &Delivered) -> Vec<Finding> {
    let pages = match page_texts(&delivered.pdf) {
        Ok(pages) => pages,
        Err(e) => return vec![Finding::Unreadable(e)],
    };
    let mut findings = Vec::new();
    if pages.len() != delivered.pages as usize {
        findings.push(Finding::PageCount { answered: delivered.pages, found: pages.len() });
    }
    for (index, text) in pages.iter().enumerate() {
        // The footer as one line: this issuance's number, "i / N" and code.
        let footer = normalize(&format!(
            "発行番号 {} {} / {} 照合コード {}",
            delivered.number,
            index + 1,
            pages.len(),
            delivered.verification_code
        ));
        if !text.contains(&footer) {
            findings.push(Finding::PageNotBound { page: index + 1, pages: pages.len() });
        }
    }
    let whole: String = pages.concat();
    let found = finder.find(&whole);
    for person in &found {
        if !delivered.names.allowed.contains(person) {
            findings.push(Finding::Foreign { person: *person, name: population.people[*person].name.clone() });
        }
    }
    for person in &delivered.names.required {
        if !found.contains(person) {
            findings.push(Finding::Missing { person: *person, subject: *person == delivered.subject });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn names_are_found_whatever_the_spacing_and_not_across_neighbours() {
        let population = Population::generate(&mut Rng::new(11), 1, 200);
        let finder = NameFinder::new(&population).expect("finder");
        let (a, b) = (&population.people[0].name, &population.people[1].name);
        let text = normalize(&format!("氏名 {a}\n{b}（カナ） 令和7年"));
        assert_eq!(finder.find(&text), vec![0, 1]);
        assert_eq!(finder.find(&normalize("住所 東雲市桜町一丁目2番3号 世帯主")), Vec::<usize>::new());
    }

    #[test]
    fn misdelivery_classification() {
        assert!(Finding::Foreign { person: 1, name: "x".into() }.is_misdelivery());
        assert!(Finding::Missing { person: 1, subject: true }.is_misdelivery());
        assert!(!Finding::Missing { person: 2, subject: false }.is_misdelivery());
        assert!(Finding::PageNotBound { page: 2, pages: 3 }.is_misdelivery());
    }
}

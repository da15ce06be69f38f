//! The page tree: /Root → /Pages → /Kids, in order, depth first. Every node
//! is checked against its parent and its /Count, so a page that was moved or
//! copied from another file cannot slip in unnoticed. The catalog, nodes,
//! pages and resources may hold only the keys our renderer writes: others
//! (/Annots, /CropBox, /Rotate, /OpenAction, /XObject ...) could hide or
//! cover a footer without changing the page's text.

use super::file::Document;
use super::lexer::{ascii, unsigned};
use super::object::{Dict, Object};

const CATALOG_KEYS: &[&[u8]] = &[b"Type", b"Pages"];
const NODE_KEYS: &[&[u8]] = &[b"Type", b"Parent", b"Kids", b"Count"];
const PAGE_KEYS: &[&[u8]] = &[b"Type", b"Parent", b"MediaBox", b"Contents", b"Resources"];
const RESOURCE_KEYS: &[&[u8]] = &[b"Font", b"ProcSet"];

/// Deeper page trees than this are refused; ours is one level.
const MAX_DEPTH: u32 = 16;

/// One page: its dictionary and its resources (its own or inherited).
pub(super) struct Page<'d, 'a> {
    pub dict: &'d Dict<'a>,
    pub resources: Option<&'d Dict<'a>>,
}

/// The pages in order, or why the page tree could not be read.
pub(super) fn pages<'d, 'a>(document: &'d Document<'a>) -> Result<Vec<Page<'d, 'a>>, String> {
    let catalog = document.dict_at(document.root, "the catalog")?;
    if catalog.name(b"Type") != Some(b"Catalog") {
        return Err("the trailer's /Root is not a /Catalog".into());
    }
    only(catalog, CATALOG_KEYS, "the catalog")?;
    let Some(&Object::Ref(root)) = catalog.get(b"Pages") else {
        return Err("the catalog has no /Pages reference".into());
    };
    let mut walk = Walk { document, visited: vec![false; document.object_count()], pages: Vec::new() };
    walk.node(root, None, None, 0)?;
    Ok(walk.pages)
}

struct Walk<'d, 'a> {
    document: &'d Document<'a>,
    /// Nodes seen so far, by object number, against cycles and pages
    /// listed twice.
    visited: Vec<bool>,
    pages: Vec<Page<'d, 'a>>,
}

impl<'d, 'a> Walk<'d, 'a> {
    /// Visit node `number`; returns how many pages it holds.
    fn node(
        &mut self,
        number: u32,
        parent: Option<u32>,
        inherited: Option<&'d Dict<'a>>,
        depth: u32,
    ) -> Result<usize, String> {
        if depth > MAX_DEPTH {
            return Err("the page tree is nested too deeply".into());
        }
        match usize::try_from(number).ok().and_then(|n| self.visited.get_mut(n)) {
            Some(seen @ false) => *seen = true,
            Some(true) => return Err(format!("object {number} appears twice in the page tree")),
            None => return Err(format!("page tree node {number} does not exist")),
        }
        let dict = match &self.document.object(number)?.value {
            Object::Dict(dict) => dict,
            other => return Err(format!("page tree node {number} is {}, not a dictionary", other.kind())),
        };
        match (dict.get(b"Parent"), parent) {
            (None, None) => {}
            (Some(&Object::Ref(actual)), Some(expected)) if actual == expected => {}
            _ => return Err(format!("node {number} does not name its place in the page tree as its /Parent")),
        }
        let resources = match dict.get(b"Resources") {
            Some(resources) => {
                let resources = self.document.dict(resources, "a page's /Resources")?;
                only(resources, RESOURCE_KEYS, &format!("the resources of node {number}"))?;
                Some(resources)
            }
            None => inherited,
        };
        match dict.name(b"Type") {
            Some(b"Page") => {
                only(dict, PAGE_KEYS, &format!("page {}", self.pages.len() + 1))?;
                self.pages.push(Page { dict, resources });
                Ok(1)
            }
            Some(b"Pages") => {
                only(dict, NODE_KEYS, &format!("page tree node {number}"))?;
                let kids = match dict.get(b"Kids").map(|kids| self.document.resolve(kids)).transpose()? {
                    Some(Object::Array(kids)) => kids,
                    _ => return Err(format!("page tree node {number} has no /Kids array")),
                };
                let mut count = 0;
                for kid in kids {
                    let &Object::Ref(kid) = kid else {
                        return Err(format!("a kid of page tree node {number} is not a reference"));
                    };
                    count += self.node(kid, Some(number), resources, depth + 1)?;
                }
                let declared = match dict.get(b"Count") {
                    Some(Object::Number(raw)) => unsigned::<usize>(raw),
                    _ => None,
                };
                if declared != Some(count) {
                    return Err(format!("page tree node {number} holds {count} pages but its /Count says otherwise"));
                }
                Ok(count)
            }
            _ => Err(format!("page tree node {number} is neither /Pages nor /Page")),
        }
    }
}

/// An error naming the first key of `dict` that is not in `allowed`.
fn only(dict: &Dict<'_>, allowed: &[&[u8]], what: &str) -> Result<(), String> {
    match dict.entries().find(|(key, _)| !allowed.contains(key)) {
        Some((key, _)) => Err(format!("{what} has /{}, which our renderer never writes", ascii(key))),
        None => Ok(()),
    }
}

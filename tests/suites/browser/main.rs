//! kofu's pages in a real browser: a headless Chromium, driven through
//! chromedriver, against a kofu server on a local socket. Needs Debian's
//! `chromium` and `chromium-driver` (`scripts/setup --with-browser`); fails
//! without them.

#[allow(dead_code, reason = "the server suite's, which uses all of it; these tests use its setup helpers")]
#[path = "../server/common.rs"]
mod common;
mod console;
mod harness;
mod harness_check;
mod site;
mod verify;

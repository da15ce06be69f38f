//! Why a document could not be rendered. Every failure is one of these: the
//! renderer never panics on a document, whatever the plugin returned.

/// A rendering failure, worded for the operator who reads the logs.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The document holds a character the chosen typeface cannot draw. Kiosk
    /// certificates may not substitute glyphs, so this refuses the issuance.
    #[error(
        "character '{character}' (U+{code:04X}) in {place} has no glyph in {font}: the certificate cannot be printed at a kiosk",
        code = *character as u32
    )]
    UnprintableCharacter { character: char, place: String, font: &'static str },

    /// The document needs more pages than a certificate may have.
    #[error("the document runs past {limit} pages, the most a certificate may have")]
    TooManyPages { limit: usize },

    /// A key-value row or table row is taller than a page; rows never split
    /// across pages, so it cannot be printed.
    #[error("a row of {place} has {lines} lines, more than fit on a page: rows never split across pages")]
    RowTooTall { place: String, lines: usize },

    /// An embedded font could not be read. Only a broken build causes this.
    #[error("the embedded font {font} could not be read: {reason}")]
    Font { font: &'static str, reason: String },

    /// The subset of an embedded font could not be built.
    #[error("could not build the subset of {font} for this document: {reason}")]
    Subset { font: &'static str, reason: String },

    /// A renderer invariant failed; the document itself may be fine.
    #[error("internal renderer error: {0}")]
    Internal(String),
}

//! The CJK font the documents are set in: found once per process through
//! configured paths, parsed once, and shared by every document.
//!
//! `ONEWINDOW_FONT` names a font file (optionally `path#index` for a face of
//! a collection); otherwise the Simplified Chinese face (index 2) of
//! Debian's Noto Sans CJK collection and a few usual places are tried in
//! order. When none is found the error lists every place that was tried.
//! This module must never fall back silently to a font without Chinese.
//!
//! Speed: printpdf subsets the font for every document, and its cost grows
//! with the size of the font's character map. So at load a *base face* is
//! cut once from the full face: ASCII, GB 2312 (the 6,763 common hanzi and
//! the usual symbols) and the placeholder. A document whose characters all
//! lie in it is set in the base face; any other (a rare name) in the full
//! face. Both have the same glyph shapes and advances, so the layout is the
//! same either way.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use printpdf::ParsedFont;

use super::PrintError;

/// The places tried when `ONEWINDOW_FONT` is not set: (file, face index).
pub const DEFAULT_FONTS: [(&str, usize); 4] = [
    // fonts-noto-cjk: faces JP, KR, SC, TC, HK; SC is index 2.
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
];

/// The character printed in place of one the font has no glyph for: the
/// typesetter's 〓 (geta mark), so a gap is visible, never silent.
pub const PLACEHOLDER: char = '〓';

/// A parsed font and where it came from.
pub struct DocumentFont {
    pub font: ParsedFont,
    /// The full face cut down to ASCII + GB 2312 (see the module notes).
    pub base: Option<ParsedFont>,
    pub path: PathBuf,
    pub index: usize,
    /// How long finding and parsing took (the benchmark reports it).
    pub parse_time: Duration,
    units_per_em: f32,
    /// Advances of the base characters, looked up once: the font's own
    /// character map is slow to search, and layout measures every
    /// character many times.
    advances: std::collections::HashMap<char, u16>,
}

impl DocumentFont {
    /// Loads the face `index` of `path`.
    pub fn load(path: PathBuf, index: usize) -> Result<Self, PrintError> {
        let started = Instant::now();
        let bytes = std::fs::read(&path).map_err(|error| PrintError::FontUnreadable {
            path: path.clone(),
            detail: error.to_string(),
        })?;
        let font = ParsedFont::from_bytes(&bytes, index, &mut Vec::new()).ok_or_else(|| {
            PrintError::FontUnreadable {
                path: path.clone(),
                detail: format!("face {index} could not be parsed"),
            }
        })?;
        if font.lookup_glyph_index('受' as u32).is_none() {
            return Err(PrintError::FontUnreadable {
                path,
                detail: format!("face {index} has no Chinese characters"),
            });
        }
        let units_per_em = f32::from(font.font_metrics.units_per_em.max(1));
        let advances = base_characters()
            .into_iter()
            .filter_map(|character| {
                let glyph = font.lookup_glyph_index(character as u32)?;
                Some((character, font.get_horizontal_advance(glyph)))
            })
            .collect();
        let base = match base_face(&bytes, index, &font) {
            Ok(base) => Some(base),
            Err(detail) => {
                tracing::warn!(%detail, "no base face; every document uses the full font");
                None
            }
        };
        Ok(DocumentFont {
            font,
            base,
            path,
            index,
            parse_time: started.elapsed(),
            units_per_em,
            advances,
        })
    }

    /// The face to set a document in: the base face when it has every
    /// character the document uses, otherwise the full face.
    pub fn face_for(&self, mut used: impl Iterator<Item = char>) -> &ParsedFont {
        match &self.base {
            Some(base)
                if used.all(|character| {
                    character.is_whitespace() || self.advances.contains_key(&character)
                }) =>
            {
                base
            }
            _ => &self.font,
        }
    }

    /// Whether the font can draw `character`.
    pub fn covers(&self, character: char) -> bool {
        character.is_whitespace()
            || self.advances.contains_key(&character)
            || self.font.lookup_glyph_index(character as u32).is_some()
    }

    /// `text` with every character the font cannot draw replaced by the
    /// placeholder.
    pub fn printable(&self, text: &str) -> String {
        text.chars()
            .map(|character| {
                if character == '\n' || character == '\t' {
                    ' '
                } else if self.covers(character) {
                    character
                } else {
                    PLACEHOLDER
                }
            })
            .collect()
    }

    /// The width of `text` (already printable) at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|character| self.char_width(character, size))
            .sum()
    }

    /// The advance of one character at `size` points.
    pub fn char_width(&self, character: char, size: f32) -> f32 {
        let units = match self.advances.get(&character) {
            Some(advance) => *advance,
            None => self
                .font
                .lookup_glyph_index(character as u32)
                .map_or(500, |glyph| self.font.get_horizontal_advance(glyph)),
        };
        f32::from(units) * size / self.units_per_em
    }
}

/// The characters of the base face: ASCII, GB 2312 and the placeholder.
fn base_characters() -> Vec<char> {
    let mut characters: Vec<char> = (0x20u8..0x7f).map(char::from).collect();
    for high in 0xA1u8..=0xF7 {
        for low in 0xA1u8..=0xFE {
            let pair = [high, low];
            let (text, _, malformed) = encoding_rs::GBK.decode(&pair);
            if !malformed {
                characters.extend(text.chars());
            }
        }
    }
    characters.push(PLACEHOLDER);
    characters.sort_unstable();
    characters.dedup();
    characters
}

/// Cuts the base face out of face `index` of `bytes`.
fn base_face(bytes: &[u8], index: usize, full: &ParsedFont) -> Result<ParsedFont, String> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{subset, CmapTarget, SubsetProfile};
    let mut glyphs: Vec<u16> = base_characters()
        .into_iter()
        .filter_map(|character| full.lookup_glyph_index(character as u32))
        .filter(|glyph| *glyph != 0)
        .collect();
    glyphs.sort_unstable();
    glyphs.dedup();
    glyphs.insert(0, 0);
    let scope = ReadScope::new(bytes);
    let data = scope
        .read::<FontData<'_>>()
        .map_err(|error| error.to_string())?;
    let provider = data
        .table_provider(index)
        .map_err(|error| error.to_string())?;
    let cut = subset(
        &provider,
        &glyphs,
        &SubsetProfile::Minimal,
        CmapTarget::Unicode,
    )
    .map_err(|error| error.to_string())?;
    ParsedFont::from_bytes(&cut, 0, &mut Vec::new())
        .ok_or_else(|| "the base face does not parse".to_owned())
}

/// The places to try, in order.
fn candidates() -> Vec<(PathBuf, usize)> {
    if let Some(configured) = std::env::var_os("ONEWINDOW_FONT").filter(|value| !value.is_empty()) {
        let text = configured.to_string_lossy().into_owned();
        let (path, index) = match text.rsplit_once('#') {
            Some((path, index)) if index.parse::<usize>().is_ok() => {
                (path.to_owned(), index.parse().unwrap_or(0))
            }
            _ => (text, 0),
        };
        return vec![(PathBuf::from(path), index)];
    }
    DEFAULT_FONTS
        .iter()
        .map(|(path, index)| (PathBuf::from(path), *index))
        .collect()
}

/// Finds and parses the document font.
pub fn find() -> Result<DocumentFont, PrintError> {
    let tried = candidates();
    for (path, index) in &tried {
        if path.is_file() {
            return DocumentFont::load(path.clone(), *index);
        }
    }
    Err(PrintError::FontNotFound {
        tried: tried
            .iter()
            .map(|(path, index)| format!("{}#{index}", path.display()))
            .collect(),
    })
}

/// The process's document font, found and parsed on first use.
pub fn shared() -> Result<&'static DocumentFont, PrintError> {
    static FONT: OnceLock<Result<DocumentFont, PrintError>> = OnceLock::new();
    FONT.get_or_init(find).as_ref().map_err(Clone::clone)
}

//! Catalogue search as the clerk types: Chinese text, full pinyin, pinyin
//! initials, item codes and department names, ranked exact code first, then
//! code prefix, then initials, then name (Chinese or pinyin), then
//! department.
//!
//! The index is built once per catalogue: sorted code and pinyin-suffix
//! tables searched by binary search, and a character index for Chinese
//! text, so a query touches only the candidates that can match. Pinyin
//! comes from the kept `pinyin` crate (each character's common reading),
//! with a short table of words whose reading differs in item names (银行).

use std::collections::HashMap;

use pinyin::ToPinyin;
use serde::Serialize;

use crate::catalog::Catalog;

/// How a hit matched; the order is the ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    ExactCode,
    CodePrefix,
    Initials,
    Name,
    Department,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Item,
    Bundle,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub kind: EntryKind,
    pub id: String,
    pub name_zh: String,
    pub matched: MatchKind,
}

/// What the index keeps of one item or bundle.
#[derive(Debug, Clone)]
struct Entry {
    kind: EntryKind,
    id: String,
    name_zh: String,
    department_zh: String,
    codes: Vec<String>,
    pinyin: String,
    initials: String,
    name_length: u16,
}

/// Words whose reading in item names is not the characters' common one.
const WORD_READINGS: &[(&str, &[&str])] = &[("银行", &["yin", "hang"])];

/// The syllables of `text`: each Chinese character's reading, ASCII letters
/// and digits as runs, punctuation dropped.
pub fn syllables(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut index = 0;
    'outer: while index < chars.len() {
        for (word, readings) in WORD_READINGS {
            let word_chars: Vec<char> = word.chars().collect();
            if chars[index..].starts_with(&word_chars) {
                out.extend(readings.iter().map(|reading| (*reading).to_owned()));
                index += word_chars.len();
                continue 'outer;
            }
        }
        let character = chars[index];
        if character.is_ascii_alphanumeric() {
            let mut run = String::new();
            while index < chars.len() && chars[index].is_ascii_alphanumeric() {
                run.push(chars[index].to_ascii_lowercase());
                index += 1;
            }
            out.push(run);
            continue;
        }
        if let Some(reading) = character.to_pinyin() {
            out.push(reading.plain().to_owned());
        }
        index += 1;
    }
    out
}

/// A prefix-searchable table of `(key, entry)` pairs.
#[derive(Debug, Clone, Default)]
struct SortedTable(Vec<(String, u32)>);

impl SortedTable {
    fn finish(mut self) -> Self {
        self.0.sort_unstable();
        self.0.dedup();
        self
    }

    /// Entries whose key starts with `prefix`, with whether it matched whole.
    fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (u32, bool)> + 'a {
        let start = self.0.partition_point(|(key, _)| key.as_str() < prefix);
        self.0[start..]
            .iter()
            .take_while(move |(key, _)| key.starts_with(prefix))
            .map(move |(key, entry)| (*entry, key.len() == prefix.len()))
    }
}

/// The search index of one catalogue.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    entries: Vec<Entry>,
    codes: SortedTable,
    /// Full-pinyin suffixes starting at each syllable (`gongsi…`, `si…`).
    pinyin_suffixes: SortedTable,
    /// Initials from the first syllable only (`gsdj…`) and from later ones.
    initials_from_start: SortedTable,
    initials_inside: SortedTable,
    /// Which entries contain each Chinese character of their name.
    name_characters: HashMap<char, Vec<u32>>,
    department_characters: HashMap<char, Vec<u32>>,
}

impl SearchIndex {
    pub fn build(catalog: &Catalog) -> Self {
        let mut entries = Vec::new();
        for item in &catalog.items {
            let department = catalog
                .departments
                .get(&item.department)
                .map_or(String::new(), |d| d.name_zh.clone());
            entries.push(entry(
                EntryKind::Item,
                &item.id,
                &item.name_zh,
                department,
                vec![
                    item.basic_code.clone(),
                    item.implementation_code.clone(),
                    item.handling_code.clone(),
                ],
            ));
        }
        for bundle in &catalog.bundles {
            entries.push(entry(
                EntryKind::Bundle,
                &bundle.id,
                &bundle.name_zh,
                String::new(),
                vec![],
            ));
        }
        let mut codes = SortedTable::default();
        let mut pinyin_suffixes = SortedTable::default();
        let mut initials_from_start = SortedTable::default();
        let mut initials_inside = SortedTable::default();
        let mut name_characters: HashMap<char, Vec<u32>> = HashMap::new();
        let mut department_characters: HashMap<char, Vec<u32>> = HashMap::new();
        for (position, entry) in entries.iter().enumerate() {
            let number = position as u32;
            for code in &entry.codes {
                codes.0.push((code.to_ascii_lowercase(), number));
            }
            let parts = syllables(&entry.name_zh);
            for start in 0..parts.len() {
                pinyin_suffixes.0.push((parts[start..].concat(), number));
                let initials: String = parts[start..]
                    .iter()
                    .filter_map(|part| part.chars().next())
                    .collect();
                if start == 0 {
                    initials_from_start.0.push((initials, number));
                } else {
                    initials_inside.0.push((initials, number));
                }
            }
            for character in entry.name_zh.chars().filter(|c| !c.is_ascii()) {
                let list = name_characters.entry(character).or_default();
                if list.last() != Some(&number) {
                    list.push(number);
                }
            }
            for character in entry.department_zh.chars().filter(|c| !c.is_ascii()) {
                let list = department_characters.entry(character).or_default();
                if list.last() != Some(&number) {
                    list.push(number);
                }
            }
        }
        SearchIndex {
            entries,
            codes: codes.finish(),
            pinyin_suffixes: pinyin_suffixes.finish(),
            initials_from_start: initials_from_start.finish(),
            initials_inside: initials_inside.finish(),
            name_characters,
            department_characters,
        }
    }

    /// The best `limit` hits for `query`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        let query: String = query
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        if query.is_empty() {
            return Vec::new();
        }
        // The best rank per entry: 0 for none, else 1 + 2 × kind + (not at start).
        let mut best = vec![0u16; self.entries.len()];
        let mut note = |entry: u32, kind: MatchKind, at_start: bool| {
            let rank = 1 + 2 * kind as u16 + u16::from(!at_start);
            let slot = &mut best[entry as usize];
            if *slot == 0 || rank < *slot {
                *slot = rank;
            }
        };
        if query.is_ascii() {
            for (entry, whole) in self.codes.prefixed(&query) {
                note(
                    entry,
                    if whole {
                        MatchKind::ExactCode
                    } else {
                        MatchKind::CodePrefix
                    },
                    true,
                );
            }
            if query.len() >= 2 && query.chars().all(|c| c.is_ascii_alphabetic()) {
                for (entry, _) in self.initials_from_start.prefixed(&query) {
                    note(entry, MatchKind::Initials, true);
                }
                for (entry, _) in self.initials_inside.prefixed(&query) {
                    note(entry, MatchKind::Initials, false);
                }
                for (entry, _) in self.pinyin_suffixes.prefixed(&query) {
                    let at_start = self.entries[entry as usize].pinyin.starts_with(&query);
                    note(entry, MatchKind::Name, at_start);
                }
            }
        } else {
            for entry in candidates(&self.name_characters, &query) {
                let name = &self.entries[entry as usize].name_zh;
                if let Some(position) = name.find(&query) {
                    note(entry, MatchKind::Name, position == 0);
                }
            }
            for entry in candidates(&self.department_characters, &query) {
                if self.entries[entry as usize].department_zh.contains(&query) {
                    note(entry, MatchKind::Department, false);
                }
            }
        }
        // Rank, then shorter names, then catalogue order; only the best
        // `limit` are fully sorted.
        let mut hits: Vec<(u16, u16, u32)> = best
            .iter()
            .enumerate()
            .filter(|(_, rank)| **rank != 0)
            .map(|(entry, rank)| (*rank, self.entries[entry].name_length, entry as u32))
            .collect();
        if hits.len() > limit && limit > 0 {
            hits.select_nth_unstable(limit - 1);
        }
        hits.truncate(limit);
        hits.sort_unstable();
        const KINDS: [MatchKind; 5] = [
            MatchKind::ExactCode,
            MatchKind::CodePrefix,
            MatchKind::Initials,
            MatchKind::Name,
            MatchKind::Department,
        ];
        hits.into_iter()
            .map(|(rank, _, entry)| {
                let entry = &self.entries[entry as usize];
                Hit {
                    kind: entry.kind,
                    id: entry.id.clone(),
                    name_zh: entry.name_zh.clone(),
                    matched: KINDS[usize::from((rank - 1) / 2)],
                }
            })
            .collect()
    }

    /// The plain way, for comparison in the benchmark: a substring scan of
    /// every field of every entry, the matches sorted by name length.
    pub fn scan(&self, query: &str, limit: usize) -> Vec<String> {
        let query = query.trim().to_lowercase();
        let mut matches: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|entry| {
                entry.name_zh.contains(&query)
                    || entry.pinyin.contains(&query)
                    || entry.initials.contains(&query)
                    || entry.department_zh.contains(&query)
                    || entry
                        .codes
                        .iter()
                        .any(|code| code.to_lowercase().contains(&query))
            })
            .collect();
        matches.sort_by_key(|entry| entry.name_zh.chars().count());
        matches
            .into_iter()
            .take(limit)
            .map(|entry| entry.id.clone())
            .collect()
    }
}

fn entry(
    kind: EntryKind,
    id: &str,
    name_zh: &str,
    department_zh: String,
    codes: Vec<String>,
) -> Entry {
    let parts = syllables(name_zh);
    Entry {
        kind,
        id: id.to_owned(),
        name_zh: name_zh.to_owned(),
        department_zh,
        codes,
        pinyin: parts.concat(),
        initials: parts
            .iter()
            .filter_map(|part| part.chars().next())
            .collect(),
        name_length: name_zh.chars().count().min(u16::MAX as usize) as u16,
    }
}

/// Entries holding every non-ASCII character of `query` (the rarest first).
fn candidates(index: &HashMap<char, Vec<u32>>, query: &str) -> Vec<u32> {
    let mut lists: Vec<&Vec<u32>> = Vec::new();
    for character in query.chars().filter(|c| !c.is_ascii()) {
        match index.get(&character) {
            Some(list) => lists.push(list),
            None => return Vec::new(),
        }
    }
    lists.sort_by_key(|list| list.len());
    let Some((first, rest)) = lists.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .copied()
        .filter(|entry| rest.iter().all(|list| list.binary_search(entry).is_ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables_of_names() {
        assert_eq!(
            syllables("公司设立登记"),
            ["gong", "si", "she", "li", "deng", "ji"]
        );
        assert_eq!(
            syllables("企业基本存款账户（银行）"),
            ["qi", "ye", "ji", "ben", "cun", "kuan", "zhang", "hu", "yin", "hang"]
        );
        assert_eq!(
            syllables("第二类医疗器械ABC 12"),
            ["di", "er", "lei", "yi", "liao", "qi", "xie", "abc", "12"]
        );
    }
}

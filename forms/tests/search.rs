//! Catalogue search on the sample catalogue.

use std::path::Path;

use forms::search::{EntryKind, MatchKind, SearchIndex};

fn index() -> SearchIndex {
    SearchIndex::build(
        &forms::load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap(),
    )
}

#[test]
fn chinese_text_finds_names() {
    let hits = index().search("食品经营", 10);
    assert_eq!(hits[0].id, "market.food-business-licence");
    assert_eq!(hits[0].matched, MatchKind::Name);
}

#[test]
fn full_pinyin_and_initials() {
    let index = index();
    let hits = index.search("shipinjingying", 10);
    assert_eq!(hits[0].id, "market.food-business-licence");
    let hits = index.search("yxzrgs", 10);
    assert_eq!(hits[0].id, "market.company-establishment");
    assert_eq!(hits[0].matched, MatchKind::Initials);
    // Initials from inside the name, and spaces ignored.
    let hits = index.search("gs sl dj", 10);
    assert!(
        hits.iter()
            .any(|hit| hit.id == "market.company-establishment"),
        "{hits:?}"
    );
}

#[test]
fn codes_rank_first_exact_then_prefix() {
    let index = index();
    let hits = index.search("00013112700401", 10);
    assert_eq!(hits[0].id, "market.company-establishment");
    assert_eq!(hits[0].matched, MatchKind::ExactCode);
    let hits = index.search("000131127", 20);
    assert!(hits.len() >= 4, "{hits:?}");
    assert!(hits.iter().all(|hit| hit.matched <= MatchKind::CodePrefix));
}

#[test]
fn departments_and_bundles() {
    let index = index();
    let hits = index.search("公安", 20);
    assert!(
        hits.iter()
            .any(|hit| hit.id == "public-security.seal-filing"
                && hit.matched == MatchKind::Department),
        "{hits:?}"
    );
    let hits = index.search("开餐馆", 5);
    assert_eq!(hits[0].id, "bundle.open-restaurant");
    assert_eq!(hits[0].kind, EntryKind::Bundle);
}

#[test]
fn results_are_ranked_and_limited() {
    let index = index();
    let hits = index.search("登记", 5);
    assert_eq!(hits.len(), 5);
    let kinds: Vec<_> = hits.iter().map(|hit| hit.matched).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted);
    assert!(index.search("   ", 5).is_empty());
    assert!(index.search("没有这种事项", 5).is_empty());
}

#[test]
fn the_index_agrees_with_a_plain_scan_on_name_queries() {
    let index = index();
    for query in ["许可", "登记", "shipin", "dengji"] {
        let mut fast: Vec<String> = index
            .search(query, 1000)
            .into_iter()
            .map(|hit| hit.id)
            .collect();
        let mut slow = index.scan(query, 1000);
        fast.sort();
        slow.sort();
        assert_eq!(fast, slow, "{query}");
    }
}

#[test]
fn an_implementation_code_names_one_item() {
    let catalog =
        forms::load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap();
    assert_eq!(
        catalog
            .item_by_implementation_code(" 420102-000131127004-MKT01 ")
            .map(|item| item.id.as_str()),
        Some("market.company-establishment")
    );
    assert!(catalog.item_by_implementation_code("420102-NONE").is_none());
    // Codes are unique in the catalogue, so a booking names one item.
    let mut codes: Vec<&str> = catalog
        .items
        .iter()
        .map(|item| item.implementation_code.as_str())
        .collect();
    codes.sort_unstable();
    let count = codes.len();
    codes.dedup();
    assert_eq!(codes.len(), count);
}

#[test]
fn a_replaced_catalogue_keeps_the_versions_open_drafts_were_started_on() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let previous = forms::load_catalog(&dir).unwrap();
    let mut next = forms::load_catalog(&dir).unwrap();
    // The next catalogue has a newer company-establishment.
    let index = next
        .items
        .iter()
        .position(|item| item.id == "market.company-establishment")
        .unwrap();
    let old_version = next.items[index].version;
    next.items[index].version = old_version + 1;
    assert!(next
        .item_at("market.company-establishment", old_version)
        .is_none());
    next.keep_versions_of(&previous);
    assert_eq!(
        next.item_at("market.company-establishment", old_version)
            .map(|item| item.version),
        Some(old_version)
    );
    assert_eq!(
        next.item("market.company-establishment").unwrap().version,
        old_version + 1,
        "the current version is the new one"
    );
}

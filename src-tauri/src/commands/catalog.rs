//! The catalogue at the window: search as you type (Chinese, pinyin,
//! initials, codes) and an item's guide for consultation (conditions,
//! materials, fees, time limits, legal basis) without starting a case.
//! Searching and ranking are `forms::search`; this file only shapes the
//! answers for the UI.

use forms::calendar::DayUnit;
use forms::catalog::{Category, ItemKind, Necessity, OriginalOrCopy};
use forms::search::{EntryKind, SearchIndex};
use serde::Serialize;
use tauri::State;

use crate::access::require;
use crate::error::UiError;
use crate::state::AppState;

/// A time limit as the UI shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Limit {
    pub days: u32,
    pub working_days: bool,
}

fn limit(value: forms::calendar::TimeLimit) -> Limit {
    Limit {
        days: value.days,
        working_days: value.unit == DayUnit::WorkingDays,
    }
}

/// One search result.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CatalogHit {
    pub id: String,
    pub bundle: bool,
    pub name_zh: String,
    pub name_en: String,
    /// `economic`, `social` or `construction`.
    pub category: String,
    /// For items: `immediate` or `promised`.
    pub item_kind: Option<String>,
    pub promised_limit: Option<Limit>,
    pub department_zh: String,
    pub department_en: String,
    /// For bundles: how many items it takes in one intake.
    pub item_count: u32,
}

/// One material of an item's guide.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct GuideMaterial {
    pub name_zh: String,
    pub name_en: String,
    /// `original`, `copy`, `original_and_copy`, `original_or_copy`.
    pub original_or_copy: String,
    pub copies: u32,
    /// `required`, `optional`, `supply_later`.
    pub necessity: String,
    pub standard_zh: String,
    pub where_to_get_zh: Option<String>,
    /// Needed only in some cases (e.g. when an agent applies).
    pub conditional: bool,
}

/// A fee.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct GuideFee {
    pub name_zh: String,
    pub name_en: String,
    pub amount_fen: u32,
    pub basis_zh: String,
}

/// The one-time-notice view of an item, for consultation.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ItemGuide {
    pub hit: CatalogHit,
    pub implementation_code: String,
    pub statutory_limit: Limit,
    pub visits: u32,
    pub handled_here: bool,
    pub competent_body_zh: Option<String>,
    pub conditions_zh: Vec<String>,
    pub legal_basis_zh: Vec<String>,
    pub fees: Vec<GuideFee>,
    pub materials: Vec<GuideMaterial>,
    pub excluded_periods_zh: Vec<String>,
}

fn snake<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn no_catalog() -> UiError {
    UiError {
        code: "catalog_missing".into(),
        message_zh: "事项目录未加载，无法查询事项。请联系系统管理员检查目录文件。".into(),
        message_en: "The service-item catalogue did not load, so items cannot be found. Ask your administrator to check the catalogue files.".into(),
    }
}

fn department(catalog: &forms::Catalog, id: &str) -> (String, String) {
    catalog
        .departments
        .get(id)
        .map(|department| (department.name_zh.clone(), department.name_en.clone()))
        .unwrap_or_default()
}

fn item_hit(catalog: &forms::Catalog, item: &forms::catalog::Item) -> CatalogHit {
    let (department_zh, department_en) = department(catalog, &item.department);
    CatalogHit {
        id: item.id.clone(),
        bundle: false,
        name_zh: item.name_zh.clone(),
        name_en: item.name_en.clone(),
        category: snake::<Category>(&item.category),
        item_kind: Some(snake::<ItemKind>(&item.kind)),
        promised_limit: Some(limit(item.promised_limit)),
        department_zh,
        department_en,
        item_count: 1,
    }
}

/// Items and bundles matching `query`, best first (at most 20).
#[tauri::command]
#[specta::specta]
pub fn search_catalog(
    state: State<'_, AppState>,
    query: String,
) -> Result<Vec<CatalogHit>, UiError> {
    require(&state, "search_catalog")?;
    let (catalog, index) = state.catalogs().search().ok_or_else(no_catalog)?;
    Ok(results(&catalog, &index, &query))
}

fn results(catalog: &forms::Catalog, index: &SearchIndex, query: &str) -> Vec<CatalogHit> {
    index
        .search(query, 20)
        .into_iter()
        .filter_map(|hit| match hit.kind {
            EntryKind::Item => catalog.item(&hit.id).map(|item| item_hit(catalog, item)),
            EntryKind::Bundle => catalog.bundle(&hit.id).map(|bundle| CatalogHit {
                id: bundle.id.clone(),
                bundle: true,
                name_zh: bundle.name_zh.clone(),
                name_en: bundle.name_en.clone(),
                category: snake::<Category>(&bundle.category),
                item_kind: None,
                promised_limit: None,
                department_zh: String::new(),
                department_en: String::new(),
                item_count: bundle.items.len() as u32,
            }),
        })
        .collect()
}

/// The guide of one item.
#[tauri::command]
#[specta::specta]
pub fn item_guide(state: State<'_, AppState>, item_id: String) -> Result<ItemGuide, UiError> {
    require(&state, "item_guide")?;
    let catalog = state.catalog().ok_or_else(no_catalog)?;
    let item = catalog.item(&item_id).ok_or_else(|| UiError {
        code: "unknown_item".into(),
        message_zh: format!("目录中没有事项 {item_id}。"),
        message_en: format!("The catalogue has no item {item_id}."),
    })?;
    Ok(ItemGuide {
        hit: item_hit(&catalog, item),
        implementation_code: item.implementation_code.clone(),
        statutory_limit: limit(item.statutory_limit),
        visits: item.visits,
        handled_here: item.handled_here,
        competent_body_zh: item.competent_body_zh.clone(),
        conditions_zh: item.conditions_zh.clone(),
        legal_basis_zh: item.legal_basis_zh.clone(),
        fees: item
            .fees
            .iter()
            .map(|fee| GuideFee {
                name_zh: fee.name_zh.clone(),
                name_en: fee.name_en.clone(),
                amount_fen: u32::try_from(fee.amount_fen).unwrap_or(u32::MAX),
                basis_zh: fee.basis_zh.clone(),
            })
            .collect(),
        materials: item
            .materials
            .iter()
            .map(|material| GuideMaterial {
                name_zh: material.name_zh.clone(),
                name_en: material.name_en.clone(),
                original_or_copy: snake::<OriginalOrCopy>(&material.original_or_copy),
                copies: material.copies,
                necessity: snake::<Necessity>(&material.necessity),
                standard_zh: material.standard_zh.clone(),
                where_to_get_zh: material.where_to_get_zh.clone(),
                conditional: material.applies_when.is_some(),
            })
            .collect(),
        excluded_periods_zh: item
            .excluded_periods
            .iter()
            .map(|period| period.name_zh.clone())
            .collect(),
    })
}

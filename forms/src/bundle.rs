//! Taking a bundle (一件事) as one intake: the fields the items share are
//! asked once (under the shared id), every other field under
//! `item-id/field-id`; the values are then handed to each item and each
//! item's form is checked, with every error reported once under the key the
//! clerk typed it in. Material marks for shared materials are copied to
//! every item they map to.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::{Bundle, Catalog, Field};
use crate::decision::{MaterialMark, MaterialStatus};
use crate::form::{validate, ApplicantProfile, FieldError, FormReport};

/// One question of a bundle's single form.
#[derive(Debug, Clone, Serialize)]
pub struct BundleField<'a> {
    /// The key the value is entered under: a shared id or `item/field`.
    pub key: String,
    /// The field as defined by the first item it belongs to.
    pub field: &'a Field,
    /// `(item, field)` pairs this one value fills.
    pub targets: Vec<(String, String)>,
}

/// The key a field of an item is asked under in a bundle's form.
pub fn item_key(item_id: &str, field_id: &str) -> String {
    format!("{item_id}/{field_id}")
}

/// The bundle's form: shared fields first, then each item's own fields.
pub fn bundle_form<'a>(catalog: &'a Catalog, bundle: &Bundle) -> Vec<BundleField<'a>> {
    let mut fields = Vec::new();
    let mut shared_targets = BTreeSet::new();
    for shared in &bundle.shared_fields {
        let Some((item_id, field_id)) = shared.maps_to.first() else {
            continue;
        };
        let Some(field) = catalog.item(item_id).and_then(|item| item.field(field_id)) else {
            continue;
        };
        shared_targets.extend(shared.maps_to.iter().cloned());
        fields.push(BundleField {
            key: shared.id.clone(),
            field,
            targets: shared.maps_to.clone(),
        });
    }
    for item_id in &bundle.items {
        let Some(item) = catalog.item(item_id) else {
            continue;
        };
        for field in &item.fields {
            let target = (item_id.clone(), field.id.clone());
            if shared_targets.contains(&target) {
                continue;
            }
            fields.push(BundleField {
                key: item_key(item_id, &field.id),
                field,
                targets: vec![target],
            });
        }
    }
    fields
}

/// Hands the bundle form's values to each item: `item id → values`.
pub fn distribute(
    catalog: &Catalog,
    bundle: &Bundle,
    values: &Map<String, Value>,
) -> BTreeMap<String, Map<String, Value>> {
    let mut out: BTreeMap<String, Map<String, Value>> = bundle
        .items
        .iter()
        .map(|id| (id.clone(), Map::new()))
        .collect();
    for question in bundle_form(catalog, bundle) {
        if let Some(value) = values.get(&question.key) {
            for (item_id, field_id) in &question.targets {
                if let Some(item_values) = out.get_mut(item_id) {
                    item_values.insert(field_id.clone(), value.clone());
                }
            }
        }
    }
    out
}

/// Checks a bundle intake: each item's form with its share of the values;
/// errors come back once each, under the key the clerk entered.
pub fn validate_bundle(
    catalog: &Catalog,
    bundle: &Bundle,
    values: &Map<String, Value>,
    profile: &ApplicantProfile,
    today: NaiveDate,
) -> FormReport {
    let questions = bundle_form(catalog, bundle);
    let mut key_of: BTreeMap<(String, String), String> = BTreeMap::new();
    for question in &questions {
        for target in &question.targets {
            key_of.insert(target.clone(), question.key.clone());
        }
    }
    let mut report = FormReport::default();
    let known: BTreeSet<&str> = questions
        .iter()
        .map(|question| question.key.as_str())
        .collect();
    for key in values.keys() {
        if !known.contains(key.as_str()) {
            report.errors.push(FieldError {
                path: key.clone(),
                code: "unknown_field",
                message_zh: format!("表单中没有字段“{key}”"),
                message_en: format!("the form has no field `{key}`"),
            });
        }
    }
    let mut seen = BTreeSet::new();
    for (item_id, item_values) in distribute(catalog, bundle, values) {
        let Some(item) = catalog.item(&item_id) else {
            continue;
        };
        let item_report = validate(catalog, &item.fields, &item_values, profile, today);
        for mut error in item_report.errors {
            let (head, rest) = match error.path.find(['[', '.']) {
                Some(position) => error.path.split_at(position),
                None => (error.path.as_str(), ""),
            };
            let key = key_of
                .get(&(item_id.clone(), head.to_owned()))
                .cloned()
                .unwrap_or_else(|| item_key(&item_id, head));
            error.path = format!("{key}{rest}");
            if seen.insert((error.path.clone(), error.code)) {
                report.errors.push(error);
            }
        }
        for (field_id, value) in item_report.calculated {
            report
                .calculated
                .insert(item_key(&item_id, &field_id), value);
        }
        for field_id in item_report.not_relevant {
            report.not_relevant.push(item_key(&item_id, &field_id));
        }
    }
    report
}

/// The material marks for every item: a mark on a shared material (by its
/// shared id) is copied to each item material it maps to; `item_marks` are
/// marks on single items' own materials.
pub fn bundle_marks(
    bundle: &Bundle,
    shared_marks: &BTreeMap<String, MaterialStatus>,
    item_marks: &[MaterialMark],
) -> Vec<MaterialMark> {
    let mut marks: Vec<MaterialMark> = item_marks.to_vec();
    for shared in &bundle.shared_materials {
        if let Some(status) = shared_marks.get(&shared.id) {
            for (item_id, material_id) in &shared.maps_to {
                marks
                    .retain(|mark| !(mark.item_id == *item_id && mark.material_id == *material_id));
                marks.push(MaterialMark {
                    item_id: item_id.clone(),
                    material_id: material_id.clone(),
                    status: status.clone(),
                });
            }
        }
    }
    marks
}

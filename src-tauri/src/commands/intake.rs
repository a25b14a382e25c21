//! One intake at the window, from the chosen item or bundle to the printed
//! receipt or notice: the form and checklist to show, the draft saved (and
//! checked) on every pause in typing, identifiers checked as typed, "ask
//! only once" look-ups (earlier cases and the back offices, only with the
//! applicant's consent), and the commit of the decision the core proposes.
//!
//! The rules are `forms::intake` (form, materials, decision) and
//! `offline_cache` (drafts, the one-transaction commit, documents); this file
//! shapes their answers for the window. It never decides a case itself: the
//! clerk can only confirm the proposal the core makes from the saved draft.

use std::collections::BTreeMap;

use forms::catalog::{ApplicantType, Catalog, Field, FieldType, Requirement};
use forms::decision::{DecisionKind, DecisionProposal, MaterialLine, MaterialStatus};
use forms::form::ApplicantProfile;
use forms::intake::{Answers, IntakePlan, Subject};
use offline_cache::sync::{Lookup, LookupOutcome};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::commands::printing::{issue, DocumentView};
use crate::error::UiError;
use crate::print::DocumentKind;
use crate::state::AppState;

/// What an intake is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum IntakeSubject {
    Item(String),
    Bundle(String),
}

impl From<&IntakeSubject> for Subject {
    fn from(subject: &IntakeSubject) -> Subject {
        match subject {
            IntakeSubject::Item(id) => Subject::Item(id.clone()),
            IntakeSubject::Bundle(id) => Subject::Bundle(id.clone()),
        }
    }
}

/// The applicant as the clerk entered (or looked up) them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ApplicantEntry {
    /// `natural_person` or `legal_person`.
    pub kind: String,
    /// Resident ID number, or unified social credit code.
    pub identifier: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    /// GB/T 3304 code (natural persons).
    pub ethnicity: String,
    pub legal_representative: String,
    /// Entity type code (legal persons).
    pub entity_type: String,
    /// The applicant agreed to have their data looked up and reused.
    pub consent: bool,
    /// Field → where its value came from (`typed`, `case:<number>`,
    /// `back_office:<system>`), shown beside the value.
    pub sources: BTreeMap<String, String>,
}

/// The clerk's mark on one checklist line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum MarkEntry {
    Received { original: bool, copies: u32 },
    FromElicence { reference: String },
    Missing,
    Deficient { reason_zh: String },
}

impl From<&MarkEntry> for MaterialStatus {
    fn from(mark: &MarkEntry) -> MaterialStatus {
        match mark {
            MarkEntry::Received { original, copies } => MaterialStatus::Received {
                original: *original,
                copies: *copies,
            },
            MarkEntry::FromElicence { reference } => MaterialStatus::FromElicence {
                reference: reference.clone(),
            },
            MarkEntry::Missing => MaterialStatus::Missing,
            MarkEntry::Deficient { reason_zh } => MaterialStatus::Deficient {
                reason_zh: reason_zh.clone(),
            },
        }
    }
}

/// Everything the intake screen holds; saved as the draft on every pause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct IntakeDraft {
    /// Made when the intake starts; becomes the case id.
    pub id: String,
    pub subject: IntakeSubject,
    /// The queue ticket being served, if any.
    pub ticket: Option<String>,
    pub applicant: ApplicantEntry,
    /// Question key → value.
    #[specta(type = BTreeMap<String, specta_typescript::Unknown>)]
    pub values: Map<String, Value>,
    /// Checklist key → mark.
    pub marks: BTreeMap<String, MarkEntry>,
    /// `applicant`, `form`, `materials` or `decision`.
    pub step: String,
    /// The question or checklist key that had the focus.
    pub focus: Option<String>,
}

/// One question as the form renders it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QuestionView {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    /// `text`, `long_text`, `integer`, `decimal`, `money`, `date`, `yes_no`,
    /// `choice`, `multi_choice`, `resident_id`, `credit_code`, `phone`,
    /// `address`, `elicence_reference`, `attachment_reference`, `group`.
    pub field_type: String,
    pub code_table: Option<String>,
    /// `required`, `optional` or `conditional` (required when a rule holds).
    pub requirement: String,
    pub calculated: bool,
    /// Filled from the applicant by default (`applicant.phone`).
    pub default_from: Option<String>,
    pub help_zh: Option<String>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub max_length: Option<u32>,
    /// For groups: one row's questions (keys are the child field ids).
    pub children: Vec<QuestionView>,
    pub min_rows: u32,
    pub max_rows: Option<u32>,
    /// For bundles: the items this one answer fills (names).
    pub items_zh: Vec<String>,
}

/// One line of the materials checklist.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ChecklistView {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    /// `original`, `copy`, `original_and_copy`, `original_or_copy`.
    pub original_or_copy: String,
    pub copies: u32,
    /// `required`, `optional`, `supply_later`.
    pub necessity: String,
    /// The e-licence type the licence store can supply it as.
    pub elicence_type: Option<String>,
    pub standard_zh: String,
    /// Asked only in some cases (e.g. when an agent applies).
    pub conditional: bool,
    pub items_zh: Vec<String>,
}

/// A code of a code table.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CodeView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// The form and checklist of an intake.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IntakeForm {
    pub title_zh: String,
    pub title_en: String,
    /// `economic`, `social` or `construction`.
    pub category: String,
    /// `natural_person` and/or `legal_person`.
    pub applicant_types: Vec<String>,
    pub items: Vec<IntakeItemView>,
    pub questions: Vec<QuestionView>,
    pub checklist: Vec<ChecklistView>,
    /// The code tables the questions use.
    pub code_tables: BTreeMap<String, Vec<CodeView>>,
}

/// One item of the intake, pinned to its version.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IntakeItemView {
    pub id: String,
    pub version: u32,
    pub name_zh: String,
    pub name_en: String,
}

/// One problem, where it is and what to do.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Problem {
    /// A question key (`shareholders[2].name`), or `applicant.<field>`.
    pub path: String,
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

/// The decision the core proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DecisionChoice {
    Accept,
    AcceptWithGaps,
    OneTimeNotice,
    NotAccepted,
}

impl From<DecisionKind> for DecisionChoice {
    fn from(kind: DecisionKind) -> DecisionChoice {
        match kind {
            DecisionKind::Accept => DecisionChoice::Accept,
            DecisionKind::AcceptWithGaps => DecisionChoice::AcceptWithGaps,
            DecisionKind::OneTimeNotice => DecisionChoice::OneTimeNotice,
            DecisionKind::NotAccepted => DecisionChoice::NotAccepted,
        }
    }
}

/// A material a notice names, or a gap with its deadline.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ProposalMaterial {
    pub item_id: String,
    pub material_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub problem_zh: Option<String>,
    pub supply_by: Option<String>,
}

/// One item of the proposal with its promised date.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ProposalItem {
    pub item_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub due_on: String,
    /// `due_on` was counted through a year whose holiday notice is not
    /// loaded (statutory holidays only): shown as an estimate.
    pub due_provisional: bool,
}

/// The proposal as the decision step shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ProposalView {
    pub kind: DecisionChoice,
    pub reasons_zh: Vec<String>,
    pub reasons_en: Vec<String>,
    pub items: Vec<ProposalItem>,
    pub to_supply: Vec<ProposalMaterial>,
    pub gaps: Vec<ProposalMaterial>,
    pub promised_completion: Option<String>,
    /// Some date here was counted through a year whose holiday notice is
    /// not loaded: the window and the receipt say it is an estimate.
    pub provisional_dates: bool,
    pub competent_bodies_zh: Vec<String>,
    /// Accepting with gaps waits for a supervisor's sign-off.
    pub needs_supervisor_sign_off: bool,
}

/// A value the form takes from what is known of the applicant.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PrefillValue {
    pub key: String,
    #[specta(type = specta_typescript::Unknown)]
    pub value: Value,
    /// `profile`, `case:<number>` or `back_office:<system>`.
    pub source: String,
}

/// The check of the intake after a save.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IntakeCheckView {
    pub revision: u32,
    /// Problems with the applicant (`applicant.identifier`, `applicant.name`).
    pub applicant_problems: Vec<Problem>,
    /// Field errors, under the question keys.
    pub errors: Vec<Problem>,
    #[specta(type = BTreeMap<String, specta_typescript::Unknown>)]
    pub calculated: Map<String, Value>,
    pub not_relevant: Vec<String>,
    pub applicable_materials: Vec<String>,
    /// Defaults from the applicant for questions still empty.
    pub defaults: Vec<PrefillValue>,
    pub proposal: Option<ProposalView>,
    /// Why there is no proposal yet.
    pub no_proposal: Option<Problem>,
}

/// An intake opened on the screen.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IntakeSession {
    pub draft: IntakeDraft,
    pub form: IntakeForm,
    pub check: IntakeCheckView,
}

/// An open draft of this window, for "resume".
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DraftRow {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    pub applicant_name: String,
    pub step: String,
    pub updated_at: String,
}

/// The applicant as found by an identifier check.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IdentifierCheck {
    pub valid: bool,
    /// The identifier normalised (upper case, no spaces).
    pub normalized: String,
    pub problem: Option<Problem>,
    pub birth_date: Option<String>,
    /// GB/T 2261.1 code.
    pub sex: Option<String>,
    pub region_code: Option<String>,
}

/// What is known of an applicant, and where from.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ApplicantLookup {
    /// Values for the applicant's fields, each with its source.
    pub applicant: Vec<PrefillValue>,
    /// Answers of earlier cases for the questions of this intake.
    pub form: Vec<PrefillValue>,
    /// `found`, `not_found` or `unavailable` (the back offices).
    pub back_office: String,
    pub back_office_detail: Option<String>,
    /// Earlier cases of this applicant at this hall.
    pub earlier_cases: u32,
}

/// An e-licence found in the licence store.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LicenceLookup {
    /// `found`, `not_found` or `unavailable`.
    pub outcome: String,
    pub reference: Option<String>,
    pub holder: Option<String>,
    pub system: Option<String>,
    pub detail: Option<String>,
}

/// A committed intake: the case and its document, ready to preview and print.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IntakeOutcome {
    pub case_id: String,
    pub case_number: String,
    pub state: String,
    pub decision: DecisionChoice,
    pub document: DocumentView,
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

fn catalog(state: &AppState) -> Result<std::sync::Arc<Catalog>, UiError> {
    state.catalog().ok_or_else(|| UiError {
        code: "catalog_missing".into(),
        message_zh: "事项目录未加载，无法受理。请联系系统管理员检查目录文件。".into(),
        message_en: "The service-item catalogue did not load, so nothing can be taken in. Ask your administrator to check the catalogue files.".into(),
    })
}

fn calendar(state: &AppState) -> Result<std::sync::Arc<forms::calendar::WorkingCalendar>, UiError> {
    state.calendar().ok_or_else(|| UiError {
        code: "calendar_missing".into(),
        message_zh: "工作日历未加载，无法计算承诺办结日期。请联系系统管理员。".into(),
        message_en: "The working-day calendar did not load, so no promised date can be worked out. Call your administrator.".into(),
    })
}

fn plan_error(error: forms::intake::PlanError) -> UiError {
    use forms::intake::PlanError as E;
    let (code, zh) = match &error {
        E::UnknownItem(id) => ("unknown_item", format!("目录中没有事项 {id}。")),
        E::UnknownVersion { id, version } => (
            "unknown_item_version",
            format!(
                "目录中没有事项 {id} 的第 {version} 版，该草稿无法继续。请放弃草稿后重新受理。"
            ),
        ),
        E::UnknownBundle(id) => ("unknown_bundle", format!("目录中没有“一件事” {id}。")),
    };
    UiError {
        code: code.into(),
        message_zh: zh,
        message_en: format!("{error}."),
    }
}

fn requirement(field: &Field) -> &'static str {
    match field.requirement {
        Requirement::Optional => "optional",
        Requirement::Required => "required",
        Requirement::RequiredWhen(_) => "conditional",
    }
}

fn field_type(field: &Field) -> (String, Option<String>) {
    let name = serde_json::to_value(&field.field_type)
        .ok()
        .and_then(|value| value.get("type").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "text".into());
    let table = match &field.field_type {
        FieldType::Choice(table) | FieldType::MultiChoice(table) => Some(table.clone()),
        _ => None,
    };
    (name, table)
}

fn question_view(catalog: &Catalog, key: &str, field: &Field, item_ids: &[String]) -> QuestionView {
    let (field_type, code_table) = field_type(field);
    QuestionView {
        key: key.to_owned(),
        label_zh: field.label_zh.clone(),
        label_en: field.label_en.clone(),
        field_type,
        code_table,
        requirement: requirement(field).into(),
        calculated: field.calculate.is_some(),
        default_from: field.default_from.clone(),
        help_zh: field.help_zh.clone(),
        min_value: field.min_value,
        max_value: field.max_value,
        max_length: field.max_length,
        children: field
            .children
            .iter()
            .map(|child| question_view(catalog, &child.id, child, &[]))
            .collect(),
        min_rows: field.min_rows,
        max_rows: field.max_rows,
        items_zh: if item_ids.len() > 1 {
            item_ids
                .iter()
                .filter_map(|id| catalog.item(id).map(|item| item.name_zh.clone()))
                .collect()
        } else {
            Vec::new()
        },
    }
}

fn snake<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn form_view(catalog: &Catalog, plan: &IntakePlan) -> IntakeForm {
    let (title_zh, title_en) = match plan.bundle {
        Some(bundle) => (bundle.name_zh.clone(), bundle.name_en.clone()),
        None => (plan.items[0].name_zh.clone(), plan.items[0].name_en.clone()),
    };
    let questions: Vec<QuestionView> = plan
        .questions
        .iter()
        .map(|question| question_view(catalog, &question.key, question.field, &question.item_ids))
        .collect();
    let mut code_tables = BTreeMap::new();
    fn tables(questions: &[QuestionView], into: &mut Vec<String>) {
        for question in questions {
            into.extend(question.code_table.clone());
            tables(&question.children, into);
        }
    }
    let mut used = Vec::new();
    tables(&questions, &mut used);
    for table in used {
        if let Some(found) = catalog.code_tables.get(&table) {
            code_tables.insert(
                table,
                found
                    .entries
                    .iter()
                    .map(|entry| CodeView {
                        code: entry.code.clone(),
                        name_zh: entry.name_zh.clone(),
                        name_en: entry.name_en.clone(),
                    })
                    .collect(),
            );
        }
    }
    IntakeForm {
        title_zh,
        title_en,
        category: snake(&plan.category),
        applicant_types: plan.applicant_types.iter().map(snake).collect(),
        items: plan
            .items
            .iter()
            .map(|item| IntakeItemView {
                id: item.id.clone(),
                version: item.version,
                name_zh: item.name_zh.clone(),
                name_en: item.name_en.clone(),
            })
            .collect(),
        questions,
        checklist: plan
            .checklist
            .iter()
            .map(|line| ChecklistView {
                key: line.key.clone(),
                name_zh: line.material.name_zh.clone(),
                name_en: line.material.name_en.clone(),
                original_or_copy: snake(&line.original_or_copy),
                copies: line.copies,
                necessity: snake(&line.material.necessity),
                elicence_type: line.material.elicence_type.clone(),
                standard_zh: line.material.standard_zh.clone(),
                conditional: line.material.applies_when.is_some(),
                items_zh: if line.targets.len() > 1 {
                    line.targets
                        .iter()
                        .filter_map(|(id, _)| catalog.item(id).map(|item| item.name_zh.clone()))
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect(),
        code_tables,
    }
}

fn problem_view(error: forms::form::FieldError) -> Problem {
    Problem {
        path: error.path,
        code: error.code.into(),
        message_zh: error.message_zh,
        message_en: error.message_en,
    }
}

/// The applicant's profile from the entry (`forms::applicant`).
fn applicant_profile(
    entry: &ApplicantEntry,
    today: chrono::NaiveDate,
) -> (Option<ApplicantType>, ApplicantProfile, Vec<Problem>) {
    let (kind, profile, problems) = forms::applicant::applicant_profile(
        &forms::applicant::ApplicantFields {
            kind: &entry.kind,
            identifier: &entry.identifier,
            name: &entry.name,
            phone: &entry.phone,
            address: &entry.address,
            ethnicity: &entry.ethnicity,
            legal_representative: &entry.legal_representative,
            entity_type: &entry.entity_type,
        },
        today,
    );
    (
        kind,
        profile,
        problems.into_iter().map(problem_view).collect(),
    )
}

fn check_identifier_text(kind: &str, text: &str, today: chrono::NaiveDate) -> IdentifierCheck {
    let facts = forms::applicant::check_identifier(kind, text, today);
    IdentifierCheck {
        valid: facts.valid,
        normalized: facts.normalized,
        problem: facts.problem.map(problem_view),
        birth_date: facts.birth_date,
        sex: facts.sex,
        region_code: facts.region_code,
    }
}

fn material(line: &MaterialLine) -> ProposalMaterial {
    ProposalMaterial {
        item_id: line.item_id.clone(),
        material_id: line.material_id.clone(),
        name_zh: line.name_zh.clone(),
        name_en: line.name_en.clone(),
        problem_zh: line.problem_zh.clone(),
        supply_by: line.supply_by.map(|date| date.to_string()),
    }
}

fn proposal_view(proposal: &DecisionProposal) -> ProposalView {
    ProposalView {
        kind: proposal.kind.into(),
        reasons_zh: proposal.reasons_zh.clone(),
        reasons_en: proposal.reasons_en.clone(),
        items: proposal
            .items
            .iter()
            .map(|item| ProposalItem {
                item_id: item.item_id.clone(),
                name_zh: item.name_zh.clone(),
                name_en: item.name_en.clone(),
                due_on: item.due_on.to_string(),
                due_provisional: item.due_provisional,
            })
            .collect(),
        to_supply: proposal.to_supply.iter().map(material).collect(),
        gaps: proposal.gaps.iter().map(material).collect(),
        promised_completion: proposal.promised_completion.map(|date| date.to_string()),
        provisional_dates: proposal.provisional_dates,
        competent_bodies_zh: proposal.competent_bodies_zh.clone(),
        needs_supervisor_sign_off: proposal.needs_supervisor_sign_off,
    }
}

/// The intake checked: the plan, the core's check and the view of both.
struct Checked<'a> {
    plan: IntakePlan<'a>,
    check: forms::intake::IntakeCheck,
    profile: ApplicantProfile,
    applicant_problems: Vec<Problem>,
    view: IntakeCheckView,
}

fn check_draft<'a>(
    state: &'a AppState,
    catalog: &'a Catalog,
    draft: &IntakeDraft,
    pinned: Option<&BTreeMap<String, u32>>,
    revision: i64,
) -> Result<Checked<'a>, UiError> {
    let revision = u32::try_from(revision).unwrap_or(u32::MAX);
    let calendar = calendar(state)?;
    let today = now().date_naive();
    let plan =
        forms::intake::plan(catalog, &(&draft.subject).into(), pinned).map_err(plan_error)?;
    let (applicant_type, profile, applicant_problems) = applicant_profile(&draft.applicant, today);
    let answers = Answers {
        applicant_type,
        profile: profile.clone(),
        values: draft.values.clone(),
        marks: draft
            .marks
            .iter()
            .map(|(key, mark)| (key.clone(), mark.into()))
            .collect(),
    };
    let check = plan.check(catalog, &calendar, &answers, today);
    let defaults = plan
        .questions
        .iter()
        .filter(|question| {
            draft
                .values
                .get(&question.key)
                .is_none_or(|value| value.is_null() || value.as_str() == Some(""))
        })
        .filter_map(|question| {
            let value = profile.value(question.field.default_from.as_deref()?, today)?;
            Some(PrefillValue {
                key: question.key.clone(),
                value,
                source: "profile".into(),
            })
        })
        .collect();
    let (proposal, no_proposal) = match &check.proposal {
        Ok(proposal) => (Some(proposal_view(proposal)), None),
        Err(error) => {
            let (code, zh) = match error {
                forms::decision::DecisionError::FieldsInvalid { count } => (
                    "fields_invalid",
                    format!("表单还有 {count} 处错误，改正后才能受理。"),
                ),
                forms::decision::DecisionError::Calendar(inner) => (
                    "calendar_missing",
                    format!("无法计算承诺办结日期：{inner}。请联系系统管理员补充工作日历。"),
                ),
                _ => ("no_proposal", format!("暂不能给出受理建议：{error}")),
            };
            (
                None,
                Some(Problem {
                    path: String::new(),
                    code: code.into(),
                    message_zh: zh,
                    message_en: format!("No proposal yet: {error}."),
                }),
            )
        }
    };
    let view = IntakeCheckView {
        revision,
        applicant_problems: applicant_problems.clone(),
        errors: check
            .report
            .errors
            .iter()
            .map(|error| Problem {
                path: error.path.clone(),
                code: error.code.into(),
                message_zh: error.message_zh.clone(),
                message_en: error.message_en.clone(),
            })
            .collect(),
        calculated: check.report.calculated.clone(),
        not_relevant: check.report.not_relevant.clone(),
        applicable_materials: check.applicable_materials.clone(),
        defaults,
        proposal,
        no_proposal,
    };
    Ok(Checked {
        plan,
        check,
        profile,
        applicant_problems,
        view,
    })
}

fn bad_draft(detail: String) -> UiError {
    UiError {
        code: "draft_unreadable".into(),
        message_zh: "该草稿无法读取，可能来自不兼容的版本。请放弃该草稿后重新受理。".into(),
        message_en: format!(
            "This draft cannot be read ({detail}). Discard it and start the intake again."
        ),
    }
}

fn draft_content(record: &offline_cache::drafts::DraftRecord) -> Result<IntakeDraft, UiError> {
    serde_json::from_value(record.content.clone()).map_err(|error| bad_draft(error.to_string()))
}

async fn save(
    state: &AppState,
    draft: &IntakeDraft,
    item_versions: BTreeMap<String, u32>,
) -> Result<i64, UiError> {
    let sync = state.service()?;
    if uuid::Uuid::parse_str(&draft.id).is_err() {
        return Err(UiError {
            code: "draft_id".into(),
            message_zh: "草稿编号无效，无法保存。请重新开始受理。".into(),
            message_en: "The draft id is not valid and cannot be saved. Start the intake again."
                .into(),
        });
    }
    sync.store
        .save_draft(offline_cache::drafts::DraftSave {
            id: draft.id.clone(),
            clerk_id: crate::commands::printing::window_actor(state)?.user_id,
            window: state.workstation.window_number.clone(),
            bundle_id: match &draft.subject {
                IntakeSubject::Bundle(id) => Some(id.clone()),
                IntakeSubject::Item(_) => None,
            },
            item_versions,
            content: serde_json::to_value(draft).expect("drafts serialise"),
            at: now(),
        })
        .await
        .map_err(|error| cache_error(&error))
}

async fn pinned_versions(
    state: &AppState,
    draft_id: &str,
) -> Result<Option<BTreeMap<String, u32>>, UiError> {
    let sync = state.service()?;
    match sync.store.draft(draft_id).await {
        Ok(record) => Ok(Some(record.item_versions)),
        Err(offline_cache::CacheError::UnknownDraft(_)) => Ok(None),
        Err(error) => Err(cache_error(&error)),
    }
}

/// Starts an intake of an item or a bundle: the draft is saved at once.
#[tauri::command]
#[specta::specta]
pub async fn start_intake(
    state: State<'_, AppState>,
    subject: IntakeSubject,
    ticket: Option<String>,
) -> Result<IntakeSession, UiError> {
    require(&state, "start_intake")?;
    let catalog = catalog(&state)?;
    // An appointment's ticket brings the booking: the applicant is not
    // asked again for what they gave when booking.
    let mut applicant = ApplicantEntry {
        kind: "natural_person".into(),
        ..ApplicantEntry::default()
    };
    if let (Some(number), Ok(sync)) = (&ticket, state.service()) {
        if let Some(booking) = sync
            .store
            .appointment_of_ticket(number.clone(), chrono::Local::now().date_naive())
            .await
            .map_err(|error| cache_error(&error))?
        {
            let source = format!("appointment:{}", booking.booking_number);
            applicant.identifier = booking.applicant_identifier;
            applicant.name = booking.applicant_name;
            applicant.phone = booking.phone.unwrap_or_default();
            for key in ["identifier", "name", "phone"] {
                applicant.sources.insert(key.into(), source.clone());
            }
        }
    }
    let draft = IntakeDraft {
        id: uuid::Uuid::new_v4().to_string(),
        subject,
        ticket,
        applicant,
        values: Map::new(),
        marks: BTreeMap::new(),
        step: "applicant".into(),
        focus: None,
    };
    let checked = check_draft(&state, &catalog, &draft, None, 0)?;
    if !checked
        .plan
        .applicant_types
        .contains(&ApplicantType::NaturalPerson)
    {
        // Start with the applicant type the intake takes.
        let mut draft = draft;
        draft.applicant.kind = "legal_person".into();
        return open(&state, draft, None).await;
    }
    open(&state, draft, None).await
}

async fn open(
    state: &AppState,
    draft: IntakeDraft,
    pinned: Option<BTreeMap<String, u32>>,
) -> Result<IntakeSession, UiError> {
    let catalog = catalog(state)?;
    let versions = match &pinned {
        Some(versions) => versions.clone(),
        None => {
            forms::intake::plan(&catalog, &(&draft.subject).into(), None)
                .map_err(plan_error)?
                .item_versions
        }
    };
    let revision = save(state, &draft, versions.clone()).await?;
    let checked = check_draft(state, &catalog, &draft, Some(&versions), revision)?;
    Ok(IntakeSession {
        form: form_view(&catalog, &checked.plan),
        check: checked.view,
        draft,
    })
}

/// Reopens a saved draft where it was, on the item versions it started on.
#[tauri::command]
#[specta::specta]
pub async fn resume_intake(
    state: State<'_, AppState>,
    draft_id: String,
) -> Result<IntakeSession, UiError> {
    let clerk = require(&state, "resume_intake")?;
    let sync = state.service()?;
    // Only the clerk's own drafts, or those handed over to them.
    let record = sync
        .store
        .own_draft(&draft_id, &clerk.user_id)
        .await
        .map_err(|error| cache_error(&error))?;
    let draft = draft_content(&record)?;
    let catalog = catalog(&state)?;
    let checked = check_draft(
        &state,
        &catalog,
        &draft,
        Some(&record.item_versions),
        record.revision,
    )?;
    Ok(IntakeSession {
        form: form_view(&catalog, &checked.plan),
        check: checked.view,
        draft,
    })
}

/// The signed-in clerk's open drafts at this window, newest first.
#[tauri::command]
#[specta::specta]
pub async fn open_intakes(state: State<'_, AppState>) -> Result<Vec<DraftRow>, UiError> {
    let clerk = require(&state, "open_intakes")?;
    let sync = state.service()?;
    // A clerk's drafts are theirs until a handover moves them.
    let records: Vec<_> = sync
        .store
        .open_drafts(Some(state.workstation.window_number.clone()))
        .await
        .map_err(|error| cache_error(&error))?
        .into_iter()
        .filter(|record| record.clerk_id == clerk.user_id)
        .collect();
    let catalog = state.catalog();
    let catalog = catalog.as_deref();
    Ok(records
        .iter()
        .map(|record| {
            let draft = draft_content(record).ok();
            let (title_zh, title_en) = match draft.as_ref().map(|draft| &draft.subject) {
                Some(IntakeSubject::Item(id)) => catalog
                    .and_then(|catalog| catalog.item(id))
                    .map(|item| (item.name_zh.clone(), item.name_en.clone()))
                    .unwrap_or_else(|| (id.clone(), id.clone())),
                Some(IntakeSubject::Bundle(id)) => catalog
                    .and_then(|catalog| catalog.bundle(id))
                    .map(|bundle| (bundle.name_zh.clone(), bundle.name_en.clone()))
                    .unwrap_or_else(|| (id.clone(), id.clone())),
                None => ("（无法读取的草稿）".into(), "(unreadable draft)".into()),
            };
            DraftRow {
                id: record.id.clone(),
                title_zh,
                title_en,
                applicant_name: draft
                    .as_ref()
                    .map(|draft| draft.applicant.name.clone())
                    .unwrap_or_default(),
                step: draft.map(|draft| draft.step).unwrap_or_default(),
                updated_at: record.updated_at.clone(),
            }
        })
        .collect())
}

/// Saves the draft as it is on the screen and checks it.
#[tauri::command]
#[specta::specta]
pub async fn save_intake(
    state: State<'_, AppState>,
    draft: IntakeDraft,
) -> Result<IntakeCheckView, UiError> {
    require(&state, "save_intake")?;
    let catalog = catalog(&state)?;
    let pinned = pinned_versions(&state, &draft.id).await?;
    let versions = match pinned {
        Some(versions) => versions,
        None => {
            forms::intake::plan(&catalog, &(&draft.subject).into(), None)
                .map_err(plan_error)?
                .item_versions
        }
    };
    let revision = save(&state, &draft, versions.clone()).await?;
    Ok(check_draft(&state, &catalog, &draft, Some(&versions), revision)?.view)
}

/// Discards a draft the clerk abandons (audited).
#[tauri::command]
#[specta::specta]
pub async fn discard_intake(state: State<'_, AppState>, draft_id: String) -> Result<(), UiError> {
    require(&state, "discard_intake")?;
    let sync = state.service()?;
    sync.store
        .discard_draft(
            &draft_id,
            crate::commands::printing::window_actor(&state)?,
            now(),
        )
        .await
        .map_err(|error| cache_error(&error))
}

/// Checks a resident ID number (`natural_person`) or a unified social
/// credit code (`legal_person`) as it is typed.
#[tauri::command]
#[specta::specta]
pub fn check_identifier(
    state: State<'_, AppState>,
    kind: String,
    identifier: String,
) -> Result<IdentifierCheck, UiError> {
    require(&state, "check_identifier")?;
    Ok(check_identifier_text(
        &kind,
        &identifier,
        now().date_naive(),
    ))
}

const CONSENT_ZH: &str = "申请人同意窗口查询并复用其在本中心及相关部门已有的信息";

/// What earlier cases and the back offices know of an applicant; only with
/// the applicant's consent. Nothing is written.
#[tauri::command]
#[specta::specta]
pub async fn look_up_applicant(
    state: State<'_, AppState>,
    subject: IntakeSubject,
    kind: String,
    identifier: String,
    consent: bool,
) -> Result<ApplicantLookup, UiError> {
    require(&state, "look_up_applicant")?;
    if !consent {
        return Err(UiError {
            code: "consent_required".into(),
            message_zh: "查询已有信息前，须先征得申请人同意并勾选“申请人同意”。".into(),
            message_en:
                "Ask the applicant's consent (and tick it) before looking up what is already held."
                    .into(),
        });
    }
    let checked = check_identifier_text(&kind, &identifier, now().date_naive());
    if let Some(problem) = checked.problem {
        return Err(UiError {
            code: problem.code,
            message_zh: problem.message_zh,
            message_en: problem.message_en,
        });
    }
    let sync = state.service()?;
    let catalog = catalog(&state)?;
    let plan = forms::intake::plan(&catalog, &(&subject).into(), None).map_err(plan_error)?;
    let known = sync
        .store
        .find_applicant(&checked.normalized)
        .await
        .map_err(|error| cache_error(&error))?;
    let earlier_cases = sync
        .store
        .cases_by_identifier(&checked.normalized)
        .await
        .map_err(|error| cache_error(&error))?;
    let mut applicant = Vec::new();
    let mut form = Vec::new();
    let latest_case = earlier_cases
        .first()
        .map(|case| format!("case:{}", case.case_number))
        .unwrap_or_else(|| "case".into());
    if let Some(known) = &known {
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(value) = value.as_ref().filter(|value| !value.is_empty()) {
                applicant.push(PrefillValue {
                    key: key.into(),
                    value: Value::String(value.clone()),
                    source: latest_case.clone(),
                });
            }
        };
        put("name", &Some(known.name.clone()));
        put("phone", &known.profile.phone);
        put("address", &known.profile.address);
        put("ethnicity", &known.profile.ethnicity);
        put("legal_representative", &known.profile.legal_representative);
        put("entity_type", &known.profile.entity_type);
        for question in &plan.questions {
            let field_id = question.key.rsplit('/').next().unwrap_or(&question.key);
            if question.field.calculate.is_some() {
                continue;
            }
            if let Some((value, case_number)) = known.earlier_values.get(field_id) {
                form.push(PrefillValue {
                    key: question.key.clone(),
                    value: value.clone(),
                    source: format!("case:{case_number}"),
                });
            }
        }
    }
    let lookup = match kind.as_str() {
        "legal_person" => Lookup::Entity {
            credit_code: checked.normalized.clone(),
        },
        _ => Lookup::Person {
            id_number: checked.normalized.clone(),
        },
    };
    let (back_office, back_office_detail) = match sync.look_up(&lookup).await {
        LookupOutcome::Found(found) => {
            let source = format!("back_office:{}", found.system);
            for (key, field) in [
                ("name", "name"),
                ("address", "address"),
                ("legal_representative", "legalRepresentative"),
                ("entity_type", "entityType"),
            ] {
                let Some(value) = found.record.get(field).and_then(Value::as_str) else {
                    continue;
                };
                // The register's value wins over an earlier case's.
                applicant.retain(|known: &PrefillValue| known.key != key);
                applicant.push(PrefillValue {
                    key: key.into(),
                    value: Value::String(value.to_owned()),
                    source: source.clone(),
                });
            }
            ("found".to_owned(), found.source)
        }
        LookupOutcome::NotFound => ("not_found".to_owned(), None),
        LookupOutcome::Unavailable { detail } => ("unavailable".to_owned(), Some(detail)),
    };
    tracing::info!(
        outcome = %back_office,
        earlier_cases = earlier_cases.len(),
        "applicant looked up with consent"
    );
    Ok(ApplicantLookup {
        applicant,
        form,
        back_office,
        back_office_detail,
        earlier_cases: u32::try_from(earlier_cases.len()).unwrap_or(u32::MAX),
    })
}

/// Finds an e-licence in the licence store, to take a material by reference.
#[tauri::command]
#[specta::specta]
pub async fn look_up_licence(
    state: State<'_, AppState>,
    number: String,
    kind: String,
) -> Result<LicenceLookup, UiError> {
    require(&state, "look_up_licence")?;
    let sync = state.service()?;
    let number = number.trim().to_uppercase();
    Ok(
        match sync
            .look_up(&Lookup::Licence {
                number: number.clone(),
                kind: kind.clone(),
            })
            .await
        {
            LookupOutcome::Found(found) => LicenceLookup {
                outcome: "found".into(),
                reference: Some(format!("{kind}:{number}")),
                holder: found
                    .record
                    .get("holder")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                system: Some(found.system),
                detail: None,
            },
            LookupOutcome::NotFound => LicenceLookup {
                outcome: "not_found".into(),
                reference: None,
                holder: None,
                system: None,
                detail: None,
            },
            LookupOutcome::Unavailable { detail } => LicenceLookup {
                outcome: "unavailable".into(),
                reference: None,
                holder: None,
                system: None,
                detail: Some(detail),
            },
        },
    )
}

fn document_kind(decision: DecisionKind) -> DocumentKind {
    match decision {
        DecisionKind::Accept => DocumentKind::AcceptanceReceipt,
        DecisionKind::AcceptWithGaps => DocumentKind::GapsNotice,
        DecisionKind::OneTimeNotice => DocumentKind::OneTimeNotice,
        DecisionKind::NotAccepted => DocumentKind::NotAcceptedNotice,
    }
}

/// Saves the draft, checks it again and, when the core's proposal is the
/// decision the clerk confirmed, writes the case in one transaction and
/// issues its document (receipt or notice) for the preview. A retry after a
/// failure finds the case (and its document) already written.
#[tauri::command]
#[specta::specta]
pub async fn commit_intake(
    state: State<'_, AppState>,
    draft: IntakeDraft,
    confirmed: DecisionChoice,
) -> Result<IntakeOutcome, UiError> {
    require(&state, "commit_intake")?;
    let catalog = catalog(&state)?;
    let sync = state.service()?;
    let existing = sync.store.case(&draft.id).await;
    let (case, kind) = match existing {
        Ok(case) => {
            // Written before (a retry): never a second case.
            // The document follows the decision the store kept; if that
            // cannot be read, say so rather than guess a kind of document.
            let facts = sync
                .store
                .document_facts(&draft.id)
                .await
                .map_err(|error| cache_error(&error))?;
            let decision: DecisionKind = facts
                .proposal
                .get("kind")
                .cloned()
                .and_then(|kind| serde_json::from_value(kind).ok())
                .ok_or_else(|| UiError {
                    code: "proposal_unreadable".into(),
                    message_zh: format!("办件 {} 的受理决定无法读取，不能出具文书。请联系系统管理员。", case.case_number),
                    message_en: format!("The decision of case {} cannot be read, so no document can be made. Call your administrator.", case.case_number),
                })?;
            (case, decision)
        }
        Err(offline_cache::CacheError::UnknownCase(_)) => {
            let pinned = pinned_versions(&state, &draft.id).await?;
            let versions = match pinned {
                Some(versions) => versions,
                None => {
                    forms::intake::plan(&catalog, &(&draft.subject).into(), None)
                        .map_err(plan_error)?
                        .item_versions
                }
            };
            save(&state, &draft, versions.clone()).await?;
            let checked = check_draft(&state, &catalog, &draft, Some(&versions), 0)?;
            if let Some(problem) = checked.applicant_problems.first() {
                return Err(UiError {
                    code: problem.code.clone(),
                    message_zh: format!("申请人信息不完整：{}", problem.message_zh),
                    message_en: format!("The applicant is not complete: {}", problem.message_en),
                });
            }
            let proposal = match &checked.check.proposal {
                Ok(proposal) => proposal.clone(),
                Err(_) => {
                    let problem = checked.view.no_proposal.clone().unwrap_or(Problem {
                        path: String::new(),
                        code: "no_proposal".into(),
                        message_zh: "暂不能给出受理建议。".into(),
                        message_en: "No proposal yet.".into(),
                    });
                    return Err(UiError {
                        code: problem.code,
                        message_zh: problem.message_zh,
                        message_en: problem.message_en,
                    });
                }
            };
            let proposal = if DecisionChoice::from(proposal.kind) == confirmed {
                proposal
            } else {
                approved_override(&state, &draft, &proposal, confirmed).await?
            };
            let identifier = checked
                .profile
                .id_number
                .clone()
                .or_else(|| checked.profile.credit_code.clone())
                .unwrap_or_default();
            let applicant = offline_cache::cases::ApplicantInput {
                kind: draft.applicant.kind.clone(),
                identifier_type: if draft.applicant.kind == "legal_person" {
                    "001".into()
                } else {
                    "111".into()
                },
                identifier,
                name: checked.profile.name.clone().unwrap_or_default(),
                profile: checked.profile.clone(),
            };
            let mut commit = offline_cache::cases::IntakeCommit::from_check(
                &checked.plan,
                &checked.check,
                &proposal,
                applicant,
                &state.workstation.window_number,
                crate::commands::printing::window_actor(&state)?,
                now(),
                &draft.id,
                draft.applicant.consent.then(|| CONSENT_ZH.to_owned()),
            );
            // The scans attached to the draft's materials go with the case.
            let scans = sync
                .store
                .captures_for(Some(draft.id.clone()))
                .await
                .map_err(|error| cache_error(&error))?;
            // A scan is kept under its checklist line's key; the line
            // stands for one material of one or more items.
            for scan in scans.iter().filter(|scan| scan.state == "attached") {
                let Some(line) = checked
                    .plan
                    .checklist
                    .iter()
                    .find(|line| Some(&line.key) == scan.material_id.as_ref())
                else {
                    continue;
                };
                for record in commit.materials.iter_mut().filter(|record| {
                    line.targets.iter().any(|(item, material)| {
                        *item == record.mark.item_id && *material == record.mark.material_id
                    })
                }) {
                    record.attachments.push(scan.attachment_id.clone());
                }
            }
            let case = sync
                .store
                .record_intake(commit)
                .await
                .map_err(|error| cache_error(&error))?;
            sync.wake();
            (case, proposal.kind)
        }
        Err(error) => return Err(cache_error(&error)),
    };
    let document_kind = document_kind(kind);
    let documents = sync
        .store
        .documents_of(&case.id)
        .await
        .map_err(|error| cache_error(&error))?;
    let document = match documents
        .iter()
        .find(|document| document.kind == document_kind.slug())
    {
        Some(found) => {
            crate::commands::printing::stored_view(&state, &case.id, &found.number, document_kind)
                .await?
        }
        None => issue(&state, &case.id, document_kind).await?,
    };
    Ok(IntakeOutcome {
        case_id: case.id.clone(),
        case_number: case.case_number.clone(),
        state: case.state.as_str().into(),
        decision: kind.into(),
        document,
    })
}

impl From<DecisionChoice> for DecisionKind {
    fn from(choice: DecisionChoice) -> DecisionKind {
        match choice {
            DecisionChoice::Accept => DecisionKind::Accept,
            DecisionChoice::AcceptWithGaps => DecisionKind::AcceptWithGaps,
            DecisionChoice::OneTimeNotice => DecisionKind::OneTimeNotice,
            DecisionChoice::NotAccepted => DecisionKind::NotAccepted,
        }
    }
}

fn override_error(error: &forms::decision::OverrideError) -> UiError {
    use forms::decision::OverrideError;
    let message_zh = match error {
        OverrideError::Same(_) => "所申请的决定与系统建议相同，无需例外签批。".to_owned(),
        OverrideError::NotAllowed { .. } => {
            "该例外不允许：材料缺失或有误请在材料清单中标注；不属本中心受理或暂停办理的事项不能例外受理。".to_owned()
        }
        OverrideError::NoReason => "申请例外须写明理由。".to_owned(),
    };
    UiError {
        code: "override_not_allowed".into(),
        message_zh,
        message_en: format!("{error}."),
    }
}

/// What an override's approval is bound to: the applicant, values and
/// marks of the draft (the store hashes them).
fn approved_content(draft: &IntakeDraft) -> offline_cache::sign_offs::ApprovedContent {
    offline_cache::sign_offs::ApprovedContent {
        applicant: serde_json::to_value(&draft.applicant).expect("an applicant serialises"),
        values: Value::Object(draft.values.clone()),
        marks: serde_json::to_value(&draft.marks).expect("marks serialise"),
    }
}

/// The proposal as the supervisor's approved override of this draft makes
/// it; refused unless an approved override asks for `confirmed` on the
/// very proposal the core makes now, for the very content it was asked
/// for (else the approval lapses in the store: `approval_lapsed`).
async fn approved_override(
    state: &AppState,
    draft: &IntakeDraft,
    proposal: &forms::decision::DecisionProposal,
    confirmed: DecisionChoice,
) -> Result<forms::decision::DecisionProposal, UiError> {
    let draft_id = draft.id.as_str();
    let changed = || UiError {
        code: "proposal_changed".into(),
        message_zh: "受理建议已随最新录入改变，请核对新的建议后再确认。".into(),
        message_en:
            "The proposal changed with the latest input; check the new proposal and confirm again."
                .into(),
    };
    let sync = state.service()?;
    let Some(request) = sync
        .store
        .request_for_draft(draft_id.to_owned())
        .await
        .map_err(|error| cache_error(&error))?
    else {
        return Err(changed());
    };
    let said = |key: &str| request.detail.get(key).cloned();
    let wanted = serde_json::to_value(confirmed).ok();
    let proposed = serde_json::to_value(DecisionChoice::from(proposal.kind)).ok();
    if request.state == "lapsed" || (request.state == "approved" && said("wanted") == wanted) {
        // Bound to the content it approved: checked (and lapsed) in the store.
        sync.store
            .confirm_override(
                request.id.clone(),
                approved_content(draft),
                crate::commands::printing::window_actor(state)?,
                now(),
            )
            .await
            .map_err(|error| cache_error(&error))?;
    }
    if request.state != "approved" || said("wanted") != wanted {
        return Err(if request.state == "waiting" {
            UiError {
                code: "override_waiting".into(),
                message_zh: "例外申请尚待值班长签批。".into(),
                message_en: "The override still waits for the supervisor's sign-off.".into(),
            }
        } else {
            changed()
        });
    }
    if said("proposed") != proposed {
        return Err(UiError {
            code: "override_outdated".into(),
            message_zh: "值班长批准例外后，受理建议已改变，请重新申请。".into(),
            message_en:
                "The proposal changed after the supervisor approved the override; ask again.".into(),
        });
    }
    let supervisor = sync
        .store
        .users()
        .await
        .map_err(|error| cache_error(&error))?
        .into_iter()
        .find(|user| Some(&user.id) == request.decided_by.as_ref())
        .map_or_else(
            || request.decided_by.clone().unwrap_or_default(),
            |user| user.display_name,
        );
    forms::decision::override_proposal(proposal, confirmed.into(), &request.reason, &supervisor)
        .map_err(|error| override_error(&error))
}

/// Asks a supervisor for an override: deciding this draft `wanted` instead
/// of the core's proposal, with the reason. The request waits on the desk;
/// once approved, the clerk confirms `wanted`.
#[tauri::command]
#[specta::specta]
pub async fn request_override(
    state: State<'_, AppState>,
    draft: IntakeDraft,
    wanted: DecisionChoice,
    reason: String,
) -> Result<crate::commands::sign_offs::SignOffRequestView, UiError> {
    let actor = require(&state, "request_override")?;
    let catalog = catalog(&state)?;
    let sync = state.service()?;
    let pinned = pinned_versions(&state, &draft.id).await?;
    let checked = check_draft(&state, &catalog, &draft, pinned.as_ref(), 0)?;
    let proposal = checked.check.proposal.as_ref().map_err(|_| UiError {
        code: "no_proposal".into(),
        message_zh: "暂无受理建议，不能申请例外。".into(),
        message_en: "There is no proposal yet to override.".into(),
    })?;
    forms::decision::override_allowed(proposal.kind, wanted.into())
        .map_err(|error| override_error(&error))?;
    let form = form_view(&catalog, &checked.plan);
    let request = sync
        .store
        .request_override(
            draft.id.clone(),
            reason,
            serde_json::json!({
                "title_zh": format!("{}（{}）", form.title_zh, checked.profile.name.clone().unwrap_or_default()),
                "title_en": form.title_en,
                "proposed": DecisionChoice::from(proposal.kind),
                "wanted": wanted,
            }),
            approved_content(&draft),
            actor,
            now(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(crate::commands::sign_offs::views(&state, vec![request])
        .await?
        .remove(0))
}

/// A supervisor signs off a case accepted with gaps at the clerk's window,
/// with their own login and password (checked in Rust, audited; wrong
/// passwords here never lock the supervisor's account). The case then goes
/// to the back offices, unless an item asks for review first; never a case
/// the supervisor took in (`own_work`, refused in the store).
#[tauri::command]
#[specta::specta]
pub async fn sign_off_gaps(
    state: State<'_, AppState>,
    case_id: String,
    login: String,
    password: String,
) -> Result<String, UiError> {
    let at_window = require(&state, "sign_off_gaps")?;
    let sync = state.service()?;
    let user = sync
        .store
        .verify_at_window(login, password, at_window, now())
        .await
        .map_err(|error| cache_error(&error))?;
    if user.role != offline_cache::lifecycle::Role::Supervisor {
        return Err(UiError {
            code: "not_supervisor".into(),
            message_zh: "容缺受理须由窗口负责人（值班长）签批，该账号不是值班长。".into(),
            message_en: "Accepting with gaps needs a supervisor's sign-off; this account is not a supervisor's.".into(),
        });
    }
    sign_off(&state, &case_id, user.actor()).await
}

/// A supervisor's sign-off of the gaps; the case then goes to the back
/// office, or to the handoff review when an item asks for one. Returns the
/// case's new state.
pub(crate) async fn sign_off(
    state: &AppState,
    case_id: &str,
    supervisor: offline_cache::cases::Actor,
) -> Result<String, UiError> {
    let sync = state.service()?;
    let case = sync
        .store
        .case(case_id)
        .await
        .map_err(|error| cache_error(&error))?;
    let needs_review = state
        .catalog()
        .as_deref()
        .is_some_and(|catalog| catalog.review_before_handoff(&case.item_versions));
    let signed = sync
        .store
        .sign_off_gaps(case_id, supervisor, now(), !needs_review)
        .await
        .map_err(|error| cache_error(&error))?;
    sync.wake();
    Ok(signed.as_str().into())
}

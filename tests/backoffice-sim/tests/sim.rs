//! The simulated back offices over real HTTP on 127.0.0.1, fed with payloads
//! made by the workstation's own data-standard mapping (contract tests).

use std::path::Path;

use backoffice_sim::{Config, Faults, Simulator, Submission};
use chrono::NaiveDate;
use forms::form::ApplicantProfile;
use forms::standards::{load_standards, CaseFacts, Payload, Standards, UnifiedIntake};
use serde_json::{json, Value};

fn forms_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms")
}

fn standards() -> Standards {
    let catalog = forms::load_catalog(&forms_dir().join("catalog")).unwrap();
    load_standards(&forms_dir().join("standards"), &catalog).unwrap()
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn intake(item: &str, case_number: &str, values: Value) -> UnifiedIntake {
    UnifiedIntake {
        case: CaseFacts {
            case_number: case_number.into(),
            ..forms::samples::sample_case_facts(1, today())
        },
        applicant: ApplicantProfile::from_resident_id("张三", "34052419800101001X", today())
            .unwrap(),
        item_id: item.into(),
        item_version: 1,
        values: values.as_object().unwrap().clone(),
    }
}

/// A filled sample intake for each item that has a standard, mapped.
fn sample_payloads(standards: &Standards) -> Vec<(String, Payload)> {
    let samples = backoffice_sim::sample_intakes();
    let catalog = forms::load_catalog(&forms_dir().join("catalog")).unwrap();
    samples
        .into_iter()
        .enumerate()
        .map(|(index, (item, values))| {
            let system = catalog.item(item).unwrap().back_office.clone();
            let payload = standards.systems[&system]
                .map(
                    &intake(item, &format!("SAMPLE2026112700{index:02}"), values),
                    today(),
                )
                .unwrap_or_else(|errors| panic!("{item}: {errors:#?}"));
            (system, payload)
        })
        .collect()
}

struct Harness {
    simulator: Simulator,
    client: reqwest::Client,
    standards: Standards,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start(faults: Option<(&str, Faults)>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::demo(&dir.path().join("sim.db"));
        if let Some((system, faults)) = faults {
            config.faults.insert(system.into(), faults);
        }
        Harness {
            simulator: Simulator::start(config).await.unwrap(),
            client: reqwest::Client::new(),
            standards: standards(),
            _dir: dir,
        }
    }

    async fn submit(
        &self,
        system: &str,
        key: &str,
        payload: &Payload,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let standard = &self.standards.systems[system];
        self.client
            .post(format!(
                "{}{}",
                self.simulator.url(),
                standard.endpoints.submit
            ))
            .bearer_auth(format!("demo-token-{system}"))
            .header("Idempotency-Key", key)
            .header("content-type", payload.content_type)
            .body(payload.body.clone())
            .send()
            .await
    }

    async fn submissions(&self) -> Vec<Submission> {
        self.client
            .get(format!("{}/admin/submissions", self.simulator.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn every_mapped_sample_is_accepted_by_its_system() {
    let harness = Harness::start(None).await;
    for (index, (system, payload)) in sample_payloads(&harness.standards).into_iter().enumerate() {
        let answer = harness
            .submit(&system, &format!("key-{index}"), &payload)
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(status, 201, "{system}: {body}\n{}", payload.body);
        assert!(body["receipt"].as_str().unwrap().len() > 10);
    }
    assert_eq!(harness.submissions().await.len(), 6);
}

/// Contract tests: a filled sample of every item handled at the window and
/// of every bundle, mapped by the workstation's standards, is accepted by
/// the system it goes to (16 of them through the exchange platform).
#[tokio::test]
async fn every_item_and_bundle_of_the_catalogue_maps_to_an_accepted_payload() {
    let harness = Harness::start(None).await;
    let catalog = forms::load_catalog(&forms_dir().join("catalog")).unwrap();
    let mut intakes: Vec<(String, UnifiedIntake)> = Vec::new();
    let case = |number: usize,
                applicant: &ApplicantProfile,
                item: &forms::catalog::Item,
                values: serde_json::Map<String, Value>| UnifiedIntake {
        case: CaseFacts {
            promised_completion: Some(today() + chrono::Duration::days(20)),
            ..forms::samples::sample_case_facts(number as u64, today())
        },
        applicant: applicant.clone(),
        item_id: item.id.clone(),
        item_version: item.version,
        values,
    };
    for item in catalog.items.iter().filter(|item| item.handled_here) {
        let sample = forms::samples::sample_item(&catalog, item, today())
            .unwrap_or_else(|error| panic!("{error}"));
        let number = intakes.len();
        intakes.push((
            format!("item {}", item.id),
            case(number, &sample.applicant, item, sample.values),
        ));
    }
    for bundle in &catalog.bundles {
        let sample = forms::samples::sample_bundle(&catalog, bundle, today())
            .unwrap_or_else(|error| panic!("{error}"));
        for (item_id, values) in forms::bundle::distribute(&catalog, bundle, &sample.values) {
            let item = catalog.item(&item_id).unwrap();
            let number = intakes.len();
            intakes.push((
                format!("bundle {} / {item_id}", bundle.id),
                case(number, &sample.applicant, item, values),
            ));
        }
    }
    let mut systems = std::collections::BTreeSet::new();
    for (index, (what, intake)) in intakes.iter().enumerate() {
        let system = catalog.item(&intake.item_id).unwrap().back_office.clone();
        let payload = harness.standards.systems[&system]
            .map(intake, today())
            .unwrap_or_else(|errors| panic!("{what}: {errors:#?}"));
        let answer = harness
            .submit(&system, &format!("contract-{index}"), &payload)
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(status, 201, "{what} → {system}: {body}\n{}", payload.body);
        systems.insert(system);
    }
    assert_eq!(
        systems.len(),
        catalog.systems.len(),
        "every system took part"
    );
    assert_eq!(harness.submissions().await.len(), intakes.len());

    // The exchange platform checks that a case belongs to the department.
    let tax = intakes
        .iter()
        .find(|(_, intake)| intake.item_id.starts_with("tax."))
        .unwrap();
    let payload = harness.standards.systems["tax-service"]
        .map(&tax.1, today())
        .unwrap();
    let answer = harness
        .client
        .post(format!(
            "{}/exchange/api/v1/fire-inspection/cases",
            harness.simulator.url()
        ))
        .bearer_auth("demo-token-fire-inspection")
        .header("Idempotency-Key", "wrong-department")
        .header("content-type", payload.content_type)
        .body(payload.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["field"], "taskCode", "{body}");
}

#[tokio::test]
async fn idempotency_keys_make_submissions_exactly_once() {
    let harness = Harness::start(None).await;
    let (system, payload) = sample_payloads(&harness.standards).remove(0);
    let first: Value = harness
        .submit(&system, "same-key", &payload)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again = harness.submit(&system, "same-key", &payload).await.unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["receipt"], first["receipt"]);
    let mut other = payload.clone();
    other.body = other
        .body
        .replace("武汉示例科技有限公司", "武汉另一家有限公司");
    assert_eq!(
        harness
            .submit(&system, "same-key", &other)
            .await
            .unwrap()
            .status(),
        409
    );
    assert_eq!(harness.submissions().await.len(), 1);
}

#[tokio::test]
async fn bad_payloads_and_tokens_are_refused_naming_the_field() {
    let harness = Harness::start(None).await;
    let (system, payload) = sample_payloads(&harness.standards).remove(0);
    let mut bad = payload.clone();
    bad.body = bad.body.replace("\"gender\":\"M\"", "\"gender\":\"1\"");
    let answer = harness.submit(&system, "k1", &bad).await.unwrap();
    assert_eq!(answer.status(), 422);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["field"], "applicant.gender");
    let answer = harness
        .client
        .post(format!(
            "{}/market/api/v1/applications",
            harness.simulator.url()
        ))
        .bearer_auth("wrong")
        .header("Idempotency-Key", "k2")
        .body(payload.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let xml = sample_payloads(&harness.standards).remove(4).1;
    let mut bad_xml = xml.clone();
    bad_xml.body = bad_xml.body.replace(
        "<HeTongJiaGeFen>350000050</HeTongJiaGeFen>",
        "<HeTongJiaGeFen>3500000.50</HeTongJiaGeFen>",
    );
    let answer = harness
        .submit("construction-approval", "k3", &bad_xml)
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    assert_eq!(
        answer.json::<Value>().await.unwrap()["field"],
        "GongCheng.HeTongJiaGeFen"
    );
    assert!(harness.submissions().await.is_empty());
}

#[tokio::test]
async fn receipts_move_through_review_on_status_polls_and_by_admin() {
    let harness = Harness::start(None).await;
    let (system, payload) = sample_payloads(&harness.standards).remove(2);
    let receipt = harness
        .submit(&system, "k", &payload)
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}/si/api/submissions/status", harness.simulator.url());
    let mut seen = Vec::new();
    for _ in 0..4 {
        let states: Value = harness
            .client
            .post(&url)
            .bearer_auth(format!("demo-token-{system}"))
            .json(&json!({ "receipts": [receipt, "nope"] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(states["states"]["nope"], Value::Null);
        seen.push(states["states"][&receipt].as_str().unwrap().to_owned());
    }
    assert_eq!(seen[0], "in_review");
    assert!(
        ["approved", "refused", "supplement_requested"].contains(&seen[1].as_str()),
        "{seen:?}"
    );
    let set = harness
        .client
        .post(format!(
            "{}/admin/receipts/{receipt}/state",
            harness.simulator.url()
        ))
        .json(&json!({ "state": "result_ready" }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    assert_eq!(harness.submissions().await[0].state, "result_ready");
}

#[tokio::test]
async fn lookups_for_ask_once() {
    let harness = Harness::start(None).await;
    let url = harness.simulator.url();
    let person: Value = harness
        .client
        .get(format!("{url}/market/api/v1/persons/34052419800101001X"))
        .bearer_auth("demo-token-market-registration")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(person["name"], "张三");
    let entity: Value = harness
        .client
        .get(format!("{url}/market/api/v1/entities/91350100M000100Y43"))
        .bearer_auth("demo-token-market-registration")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entity["legalRepresentative"], "张三");
    let missing = harness
        .client
        .get(format!("{url}/si/api/persons/110105194912310021"))
        .bearer_auth("demo-token-social-insurance")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let licence = harness
        .client
        .get(format!(
            "{url}/gcjs/services/zhengzhao/91350100M000100Y43?kind=business_licence"
        ))
        .bearer_auth("demo-token-construction-approval")
        .send()
        .await
        .unwrap();
    assert_eq!(licence.status(), 200);
}

#[tokio::test]
async fn faults_are_injected_and_a_lost_answer_still_commits() {
    let harness = Harness::start(None).await;
    let (system, payload) = sample_payloads(&harness.standards).remove(0);
    let set = |faults: Faults| {
        let client = harness.client.clone();
        let url = format!("{}/admin/faults/{system}", harness.simulator.url());
        async move {
            assert_eq!(
                client
                    .post(url)
                    .json(&faults)
                    .send()
                    .await
                    .unwrap()
                    .status(),
                204
            )
        }
    };
    set(Faults {
        server_error: 1.0,
        ..Default::default()
    })
    .await;
    assert_eq!(
        harness
            .submit(&system, "a", &payload)
            .await
            .unwrap()
            .status(),
        500
    );
    set(Faults {
        rate_limited: 1.0,
        retry_after_seconds: 3,
        ..Default::default()
    })
    .await;
    let limited = harness.submit(&system, "a", &payload).await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "3");
    set(Faults {
        reset: 1.0,
        ..Default::default()
    })
    .await;
    assert!(
        harness.submit(&system, "a", &payload).await.is_err(),
        "the connection is dropped"
    );
    assert!(harness.submissions().await.is_empty());
    set(Faults {
        lost_answer: 1.0,
        ..Default::default()
    })
    .await;
    assert!(
        harness.submit(&system, "a", &payload).await.is_err(),
        "the answer is lost"
    );
    let stored = harness.submissions().await;
    assert_eq!(
        stored.len(),
        1,
        "the submission was committed before the answer was lost"
    );
    set(Faults::default()).await;
    let retry: Value = harness
        .submit(&system, "a", &payload)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retry["receipt"], stored[0].receipt.as_str());
    assert_eq!(harness.submissions().await.len(), 1);
    let counts: Value = harness
        .client
        .get(format!("{}/admin/requests", harness.simulator.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts[&system], 5);
}

//! A deterministic synthetic catalogue the size of a real district hall's
//! list (1,100 items), for benchmarks and load tests, and a deliberately
//! large form (hundreds of fields, a repeat group of many rows) for the
//! form engine's benchmark.
//!
//! The generator writes ordinary catalogue files, so what it makes goes
//! through the same loader and checks as the real catalogue. It reuses the
//! sample catalogue's departments, code tables and library. The same seed
//! always gives byte-identical files.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use toml::{Table, Value as Toml};

const ACTIONS: &[&str] = &[
    "新办",
    "变更",
    "延续",
    "注销",
    "补办",
    "备案",
    "核发",
    "换证",
    "迁移",
    "年度报告",
    "撤回",
    "遗失补领",
];

const OBJECTS: &[(&str, &str, &str)] = &[
    ("market", "economic", "食品经营许可证"),
    ("market", "economic", "食品小作坊登记证"),
    ("market", "economic", "特种设备使用登记证"),
    ("market", "economic", "计量器具型式批准"),
    ("market", "economic", "广告发布登记"),
    ("market", "economic", "农民专业合作社登记"),
    ("market", "economic", "外商投资企业登记"),
    ("market", "economic", "个人独资企业登记"),
    ("tax", "economic", "增值税一般纳税人登记"),
    ("tax", "economic", "税务注销"),
    ("tax", "economic", "跨区域涉税事项报告"),
    ("health", "economic", "医疗机构执业许可证"),
    ("health", "economic", "放射诊疗许可证"),
    ("health", "economic", "消毒产品生产企业卫生许可证"),
    ("health", "social", "医师执业注册"),
    ("health", "social", "护士执业注册"),
    ("human-resources", "economic", "人力资源服务许可证"),
    ("human-resources", "economic", "劳务派遣经营许可证"),
    ("human-resources", "social", "就业创业证"),
    ("human-resources", "social", "职业技能等级认定"),
    ("human-resources", "social", "失业保险金申领"),
    ("civil-affairs", "social", "养老机构备案"),
    ("civil-affairs", "social", "社会团体登记"),
    ("civil-affairs", "social", "民办非企业单位登记"),
    ("civil-affairs", "social", "临时救助"),
    ("civil-affairs", "social", "殡葬补贴"),
    ("public-security", "social", "户口迁移"),
    ("public-security", "social", "居民身份证"),
    ("public-security", "economic", "旅馆业特种行业许可证"),
    ("public-security", "economic", "公章刻制业特种行业许可证"),
    ("disabled-persons", "social", "残疾人两项补贴"),
    ("medical-insurance", "social", "异地就医备案"),
    ("housing-fund", "social", "住房公积金贷款"),
    ("development-reform", "construction", "企业投资项目核准"),
    ("development-reform", "construction", "节能审查"),
    ("natural-resources", "construction", "乡村建设规划许可证"),
    ("natural-resources", "construction", "临时用地审批"),
    ("housing-construction", "construction", "建筑业企业资质"),
    ("housing-construction", "construction", "商品房预售许可证"),
    (
        "housing-construction",
        "construction",
        "城镇污水排入排水管网许可证",
    ),
    ("urban-management", "construction", "城市道路占用挖掘许可"),
    ("urban-management", "economic", "大型户外广告设置许可"),
    ("fire", "construction", "建设工程消防验收"),
    ("real-estate", "construction", "不动产抵押登记"),
    ("real-estate", "construction", "不动产首次登记"),
    ("utilities", "construction", "高压用电报装"),
];

/// The back-office system the generated items of a department go to.
fn system_of(department: &str) -> &'static str {
    match department {
        "market" => "market-licensing",
        "tax" => "tax-service",
        "health" => "health-licensing",
        "human-resources" => "social-insurance",
        "civil-affairs" => "civil-affairs",
        "public-security" => "residence-management",
        "disabled-persons" => "disabled-persons",
        "medical-insurance" => "medical-insurance",
        "housing-fund" => "housing-fund",
        "development-reform" => "project-platform",
        "urban-management" => "urban-management",
        "fire" => "fire-inspection",
        "real-estate" => "real-estate-registration",
        "utilities" => "utility-service",
        _ => "construction-approval",
    }
}

const LIBRARY_FIELDS: &[&str] = &[
    "applicant_name",
    "applicant_id_number",
    "applicant_phone",
    "entity_name",
    "credit_code",
    "premises_address",
    "delegated",
    "agent_name",
    "agent_id_number",
];
const LIBRARY_MATERIALS: &[&str] = &[
    "applicant_id_card",
    "business_licence",
    "premises_proof",
    "power_of_attorney",
    "agent_id_card",
    "floor_plan",
];

fn limit(days: i64, unit: &str) -> Toml {
    let mut table = Table::new();
    table.insert("days".into(), Toml::Integer(days));
    table.insert("unit".into(), Toml::String(unit.into()));
    Toml::Table(table)
}

fn text(value: &str) -> Toml {
    Toml::String(value.to_owned())
}

fn using(name: &str) -> Toml {
    let mut table = Table::new();
    table.insert("use".into(), text(name));
    Toml::Table(table)
}

/// Writes a catalogue of `items` generated items into `target` (the sample
/// catalogue's header, code tables and library are copied from `sample`).
pub fn write_catalog(sample: &Path, target: &Path, items: usize, seed: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(target.join("items"))?;
    std::fs::create_dir_all(target.join("code-tables"))?;
    for file in ["catalog.toml", "library.toml"] {
        std::fs::copy(sample.join(file), target.join(file))?;
    }
    for entry in std::fs::read_dir(sample.join("code-tables"))? {
        let entry = entry?;
        std::fs::copy(
            entry.path(),
            target.join("code-tables").join(entry.file_name()),
        )?;
    }
    let mut random = ChaCha8Rng::seed_from_u64(seed);
    let mut files: std::collections::BTreeMap<&str, Vec<Toml>> = std::collections::BTreeMap::new();
    for number in 0..items {
        let (department, category, object) = OBJECTS[number % OBJECTS.len()];
        let action = ACTIONS[(number / OBJECTS.len()) % ACTIONS.len()];
        let round = number / (OBJECTS.len() * ACTIONS.len());
        let name = if round == 0 {
            format!("{object}{action}")
        } else {
            format!("{object}{action}（第{}类）", round + 1)
        };
        files.entry(department).or_default().push(generated_item(
            &mut random,
            number,
            department,
            category,
            &name,
        ));
    }
    for (department, items) in files {
        let mut root = Table::new();
        root.insert("item".into(), Toml::Array(items));
        let text = toml::to_string(&root).map_err(std::io::Error::other)?;
        std::fs::write(
            target.join("items").join(format!("{department}.toml")),
            text,
        )?;
    }
    Ok(())
}

fn generated_item(
    random: &mut ChaCha8Rng,
    number: usize,
    department: &str,
    category: &str,
    name: &str,
) -> Toml {
    let mut item = Table::new();
    let basic = format!("{:012}", 900_000_000_000u64 + number as u64);
    item.insert("id".into(), text(&format!("generated.{number:05}")));
    item.insert("basic_code".into(), text(&basic));
    item.insert(
        "implementation_code".into(),
        text(&format!("420102-{basic}-G{number:05}")),
    );
    item.insert(
        "handling_code".into(),
        text(&format!("{basic}{:02}", number % 100)),
    );
    item.insert("version".into(), Toml::Integer(random.random_range(1..5)));
    item.insert("status".into(), text("active"));
    item.insert("name_zh".into(), text(name));
    item.insert("name_en".into(), text(&format!("Generated item {number}")));
    item.insert("category".into(), text(category));
    item.insert("department".into(), text(department));
    let statutory = random.random_range(1..31);
    let promised = random.random_range(1..=statutory);
    let immediate = random.random_bool(0.3);
    item.insert(
        "kind".into(),
        text(if immediate { "immediate" } else { "promised" }),
    );
    item.insert("statutory_limit".into(), limit(statutory, "working_days"));
    item.insert("promised_limit".into(), limit(promised, "working_days"));
    item.insert(
        "legal_basis_zh".into(),
        Toml::Array(vec![text("示例法规（生成数据）")]),
    );
    item.insert("visits".into(), Toml::Integer(random.random_range(0..2)));
    item.insert(
        "applicant_types".into(),
        Toml::Array(vec![text("natural_person"), text("legal_person")]),
    );
    item.insert("back_office".into(), text(system_of(department)));
    item.insert("source".into(), text("generated"));
    let mut fields: Vec<Toml> = Vec::new();
    for field in LIBRARY_FIELDS {
        if random.random_bool(0.6) || field.starts_with("agent") || *field == "delegated" {
            fields.push(using(field));
        }
    }
    let mut own = Table::new();
    own.insert("id".into(), text("quantity"));
    own.insert("label_zh".into(), text("数量"));
    own.insert("label_en".into(), text("Quantity"));
    own.insert("type".into(), text("integer"));
    own.insert("required".into(), Toml::Boolean(true));
    own.insert("min_value".into(), Toml::Float(1.0));
    fields.push(Toml::Table(own));
    item.insert("field".into(), Toml::Array(fields));
    let mut materials: Vec<Toml> = LIBRARY_MATERIALS
        .iter()
        .filter(|_| random.random_bool(0.7))
        .map(|material| using(material))
        .collect();
    let mut form = Table::new();
    form.insert("id".into(), text("application_form"));
    form.insert("name_zh".into(), text(&format!("{name}申请表")));
    form.insert("name_en".into(), text("Application form"));
    form.insert("original_or_copy".into(), text("original"));
    form.insert("form".into(), text("both"));
    form.insert("necessity".into(), text("required"));
    form.insert("source".into(), text("applicant"));
    form.insert("standard_zh".into(), text("申请人签字"));
    materials.push(Toml::Table(form));
    item.insert("material".into(), Toml::Array(materials));
    Toml::Table(item)
}

/// Writes a catalogue holding one item with a very large form: `fields`
/// top-level fields (a third of them with a constraint) and a repeat group
/// of five fields, and returns values that fill it with `rows` rows.
pub fn write_large_form(
    sample: &Path,
    target: &Path,
    fields: usize,
    rows: usize,
) -> std::io::Result<Map<String, Value>> {
    write_catalog(sample, target, 0, 1)?;
    let mut list = Vec::new();
    let mut values = Map::new();
    for number in 0..fields.saturating_sub(1) {
        let id = format!("f{number:03}");
        let mut field = Table::new();
        field.insert("id".into(), text(&id));
        field.insert("label_zh".into(), text(&format!("字段{number}")));
        field.insert("label_en".into(), text(&format!("Field {number}")));
        field.insert("required".into(), Toml::Boolean(true));
        match number % 4 {
            0 => {
                field.insert("type".into(), text("integer"));
                field.insert("min_value".into(), Toml::Float(0.0));
                values.insert(id.clone(), json!(number));
            }
            1 => {
                field.insert("type".into(), text("money"));
                values.insert(id.clone(), json!(format!("{number}.50")));
            }
            2 => {
                field.insert("type".into(), text("date"));
                values.insert(id.clone(), json!("2026-11-27"));
            }
            _ => {
                field.insert("type".into(), text("text"));
                field.insert("max_length".into(), Toml::Integer(50));
                values.insert(id.clone(), json!(format!("值{number}")));
            }
        }
        if number % 3 == 0 && number % 4 == 0 {
            let mut constraint = Table::new();
            constraint.insert("rule".into(), text(&format!("{id} >= 0")));
            constraint.insert("message_zh".into(), text("不能为负数"));
            constraint.insert("message_en".into(), text("Cannot be negative"));
            field.insert(
                "constraint".into(),
                Toml::Array(vec![Toml::Table(constraint)]),
            );
        }
        list.push(Toml::Table(field));
    }
    let mut group = Table::new();
    group.insert("id".into(), text("rows"));
    group.insert("label_zh".into(), text("明细"));
    group.insert("label_en".into(), text("Rows"));
    group.insert("type".into(), text("group"));
    group.insert("max_rows".into(), Toml::Integer(rows as i64 + 10));
    let mut children = Vec::new();
    for (id, kind) in [
        ("name", "text"),
        ("id_number", "resident_id"),
        ("amount", "money"),
        ("since", "date"),
        ("share", "decimal"),
    ] {
        let mut child = Table::new();
        child.insert("id".into(), text(id));
        child.insert("label_zh".into(), text(id));
        child.insert("label_en".into(), text(id));
        child.insert("type".into(), text(kind));
        child.insert("required".into(), Toml::Boolean(true));
        if id == "share" {
            let mut constraint = Table::new();
            constraint.insert("rule".into(), text("row.share > 0.0 && row.share <= 100.0"));
            constraint.insert("message_zh".into(), text("比例应在0到100之间"));
            constraint.insert("message_en".into(), text("Share must be between 0 and 100"));
            child.insert(
                "constraint".into(),
                Toml::Array(vec![Toml::Table(constraint)]),
            );
        }
        children.push(Toml::Table(child));
    }
    group.insert("fields".into(), Toml::Array(children));
    list.push(Toml::Table(group));
    let row = json!({ "name": "张三", "id_number": "34052419800101001X", "amount": "100.00", "since": "2020-01-01", "share": 1.5 });
    values.insert("rows".into(), Value::Array(vec![row; rows]));

    let mut item = match generated_item(
        &mut ChaCha8Rng::seed_from_u64(7),
        0,
        "market",
        "economic",
        "大表单测试事项",
    ) {
        Toml::Table(table) => table,
        _ => unreachable!("generated items are tables"),
    };
    item.insert("id".into(), text("generated.large-form"));
    // Codes of its own, so the form can sit beside a generated catalogue.
    item.insert(
        "implementation_code".into(),
        text("420102-900000000000-LARGE"),
    );
    item.insert("handling_code".into(), text("99999999999999"));
    item.insert("field".into(), Toml::Array(list));
    // Keep only the application form: the library's agent materials refer
    // to fields this form does not have.
    if let Some(Toml::Array(materials)) = item.get_mut("material") {
        materials.retain(|material| material.get("use").is_none());
    }
    let mut root = Table::new();
    root.insert("item".into(), Toml::Array(vec![Toml::Table(item)]));
    std::fs::write(
        target.join("items").join("large.toml"),
        toml::to_string(&root).map_err(std::io::Error::other)?,
    )?;
    Ok(values)
}

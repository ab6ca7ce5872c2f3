//! `plumb audit register`: the fixed-asset register against the inventory, from a CSV with a
//! byte-order mark and semicolons and from an XLSX written by openpyxl
//! (`tests/support/register/`), every class present, findings that resolve, bad input named.

use std::path::Path;

use serde_json::Value;

use crate::support::{Env, arg, both_backends};

both_backends!(every_class_from_a_csv_and_a_workbook, bad_registers_are_refused_with_what_is_wrong,);

const INVENTORY: &str = "key,kind,type,environment,owner,classification,location,status,financial_ref
SRV-1,hardware,server,corporate,ana@example.com,internal,DC1,in_service,FA-1
SRV-2,hardware,server,corporate,ana@example.com,internal,DC1,in_service,100234
C02-AB,hardware,laptop,corporate,ana@example.com,internal,London,in_service,
SRV-4,hardware,server,corporate,ana@example.com,internal,DC1,in_service,
SRV-7,hardware,network_switch,corporate,ana@example.com,internal,DC1,in_service,FA-7
SRV-7B,hardware,network_switch,corporate,ana@example.com,internal,DC1,in_service,FA-7
SRV-9,hardware,nas,corporate,ana@example.com,internal,DC1,in_service,FA-9
i-1,cloud,vm,staging,,,,registered,
";

/// The lines of `register.xlsx`, as finance's CSV export with a BOM, semicolons and CRLF.
const REGISTER: &str = "\u{feff}asset_tag;description;serial_number;location;status\r\n\
FA-1;Dell R760;SRV-1;DC1;in use\r\n\
100234;Dell R660;;DC2;in use\r\n\
FA-3;MacBook Pro;c02 ab;London;in use\r\n\
FA-6;HP DL380;;;in use\r\n\
;;;;\r\n\
FA-7;Switch;;;in use\r\n\
FA-8;Firewall;;;in use\r\n\
FA-8;Firewall spare;;;in use\r\n\
FA-9;Old NAS;;DC1;Scrapped\r\n";

const EXPECTED: &[(&str, &str)] = &[
    ("matched", "SRV-1"),
    ("matched", "C02-AB"),
    ("matched_with_differences", "SRV-2"),
    ("matched_with_differences", "SRV-9"),
    ("only_in_register", "register:FA-6"),
    ("only_in_inventory", "SRV-4"),
    ("ambiguous", "register:FA-7"),
    ("ambiguous", "register:FA-8"),
    ("ambiguous", "register:FA-8"),
];

fn workbook() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/register/register.xlsx"))
}

fn entries(audit: &Value) -> Vec<(String, String)> {
    let entries = audit["entries"].as_array().unwrap();
    let key = |e: &Value| match e["key"].as_str() {
        Some(key) => key.to_owned(),
        None => format!("register:{}", e["line"]["asset_number"].as_str().unwrap()),
    };
    let mut found: Vec<(String, String)> =
        entries.iter().map(|e| (e["class"].as_str().unwrap().to_owned(), key(e))).collect();
    found.sort_by_key(|(class, key)| (EXPECTED.iter().position(|(c, _)| c == class), key.clone()));
    found
}

fn expected() -> Vec<(String, String)> {
    let mut expected: Vec<(String, String)> =
        EXPECTED.iter().map(|(class, key)| ((*class).to_owned(), (*key).to_owned())).collect();
    expected.sort_by_key(|(class, key)| (EXPECTED.iter().position(|(c, _)| c == class), key.clone()));
    expected
}

fn every_class_from_a_csv_and_a_workbook(env: &Env) {
    let inventory = env.write("inventory.csv", INVENTORY);
    env.plumb(&["asset", "import", arg(&inventory)]).ok();
    let csv = env.write("far.csv", REGISTER);
    assert_eq!(overdue(env, None), "fail", "never reconciled");

    let audit = env.plumb(&["audit", "register", arg(&csv), "-o", "json"]).code(1).json();
    assert_eq!(overdue(env, None), "pass", "reconciled today, within [audit] register_every_days");
    assert_eq!(entries(&audit), expected(), "{audit:#}");
    assert_eq!((audit["register_lines"].as_u64(), audit["inventory_assets"].as_u64()), (Some(8), Some(7)));
    assert_eq!(audit["counts"]["ambiguous"], 3);
    assert_eq!(audit["opened"], 6, "one finding per entry that is not a plain match, FA-8's two lines one");
    assert_eq!(audit["sha256"].as_str().map(str::len), Some(64));
    let differs = |key: &str| {
        let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["key"] == key).unwrap();
        entry["differences"][0]["field"].as_str().unwrap().to_owned()
    };
    assert_eq!(differs("SRV-2"), "location");
    assert_eq!(differs("SRV-9"), "status", "scrapped on the books, in service here");
    let laptop = audit["entries"].as_array().unwrap().iter().find(|e| e["key"] == "C02-AB").unwrap();
    assert_eq!(laptop["matched_by"], "serial");

    let runs = env.plumb(&["run", "list", "--kind", "audit", "-o", "json"]).ok().json();
    let run = &runs["items"][0];
    assert_eq!((run["name"].as_str(), run["outcome"].as_str()), (Some("register"), Some("blocked")));

    let mapped = [
        "--map",
        "Anlage=asset_number",
        "--map",
        "Serialnummer=serial",
        "--map",
        "Standort=location",
        "-o",
        "json",
    ];
    let mut args = vec!["audit", "register", arg(workbook())];
    args.extend(mapped);
    let from_workbook = env.plumb(&args).code(1).json();
    assert_eq!(entries(&from_workbook), expected(), "{from_workbook:#}");
    assert_eq!(from_workbook["opened"], 0, "the same findings, still open");
    assert_eq!(from_workbook["columns"]["status"], "Status", "found by its usual name");

    env.plumb(&["asset", "set", "SRV-2", "--location", "DC2"]).ok();
    let again = env.plumb(&["audit", "register", arg(&csv), "-o", "json"]).code(1).json();
    assert_eq!(again["resolved"], 1, "the location now agrees: {again:#}");
    assert_eq!(again["counts"]["matched"], 3);

    let table = env.plumb(&["audit", "register", arg(&csv), "-o", "csv"]).code(1);
    assert_eq!(
        table.stdout.lines().next(),
        Some("class,line,asset_number,serial,key,matched_by,differences,reason")
    );
    assert_eq!(table.stdout.lines().count(), 10, "{}", table.stdout);
    let page = env.plumb(&["audit", "register", arg(&csv), "-o", "html"]).code(1).stdout;
    assert!(page.contains("<h1>plumb audit register</h1>") && page.contains("register:FA-6"), "{page}");
    let in_63_days = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(63 * 24)).to_string();
    assert_eq!(overdue(env, Some(&in_63_days)), "fail", "the last audit is more than 62 days old by then");
}

/// The status of `register/overdue` in an inventory check run now (or at `at`).
fn overdue(env: &Env, at: Option<&str>) -> String {
    let clock: Vec<(&str, &str)> = at.map(|at| ("PLUMB_TEST_NOW", at)).into_iter().collect();
    let report = env.plumb_with(&["check", "--pack", "inventory", "-o", "json"], &clock).json();
    let summary = report["summary"].as_array().unwrap().iter().find(|s| s["check"] == "register/overdue");
    let summary = summary.unwrap_or_else(|| panic!("no register/overdue result: {report}"));
    assert_eq!(summary["controls"], serde_json::json!(["INV-01"]));
    if summary["fail"] == 1 { "fail".to_owned() } else { "pass".to_owned() }
}

fn bad_registers_are_refused_with_what_is_wrong(env: &Env) {
    let csv = env.write("far.csv", REGISTER);
    let missing =
        env.plumb(&["audit", "register", arg(&csv), "--map", "Inventarnummer=asset_number"]).code(2);
    assert!(
        missing.stderr.contains("far.csv") && missing.stderr.contains("no column \"Inventarnummer\""),
        "{}",
        missing.stderr
    );
    let nothing = env.write("names.csv", "Bezeichnung,Kosten\nDell,3\n");
    let unknown = env.plumb(&["audit", "register", arg(&nothing)]).code(2);
    assert!(unknown.stderr.contains("no column for the asset number"), "{}", unknown.stderr);
    let short = env.write("short.csv", "asset_tag,serial\nFA-1,S1\nFA-2\n");
    let line = env.plumb(&["audit", "register", arg(&short)]).code(2);
    assert!(line.stderr.contains("short.csv:3: expected 2 columns"), "{}", line.stderr);
    env.plumb(&["audit", "register", arg(&csv), "--map", "asset_tag=colour"]).code(2);
    env.plumb(&["audit", "register", "missing.csv"]).code(2);
    let not_a_workbook = env.plumb(&["audit", "register", arg(&csv), "--format", "xlsx"]).code(2);
    assert!(not_a_workbook.stderr.contains("not a readable XLSX workbook"), "{}", not_a_workbook.stderr);
    let runs = env.plumb(&["run", "list", "--kind", "audit", "-o", "json"]).ok().json();
    assert_eq!(runs["items"], serde_json::json!([]), "nothing recorded for a register that was not read");
}

//! The fixed-asset register reconciliation (policy §6): finance's register of capitalised
//! assets against the inventory. Lines match assets on the asset number (`financial_ref`),
//! falling back to a normalised serial; each line and each hardware asset ends in one class.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::Timestamp;
use crate::enums::word_enum;
use crate::model::{Asset, Finding, FindingStatus, Kind, Severity, Status};

word_enum! {
    /// A register column's meaning (`--map COLUMN=FIELD`).
    pub enum RegisterField {
        /// Finance's asset number, which the inventory keeps as `financial_ref`.
        AssetNumber = "asset_number",
        /// The manufacturer's serial number.
        Serial = "serial",
        /// Where finance says it is.
        Location = "location",
        /// Finance's status of the asset ("in use", "disposed", …).
        Status = "status",
        /// Finance's description, shown beside the line.
        Description = "description",
    }
}

impl RegisterField {
    /// The header names a finance export uses for this field (SAP, GLPI, Snipe-IT, hand-made),
    /// compared after `header_word`.
    pub fn usual_headers(self) -> &'static [&'static str] {
        match self {
            RegisterField::AssetNumber => &[
                "asset_number",
                "asset_no",
                "asset_tag",
                "asset",
                "main_asset_number",
                "inventory_number",
                "immo_number",
                "fixed_asset_number",
                "financial_ref",
            ],
            RegisterField::Serial => &["serial", "serial_number", "serial_no", "serialnumber"],
            RegisterField::Location => &["location", "plant", "site"],
            RegisterField::Status => &["status", "state", "asset_status"],
            RegisterField::Description => &["description", "asset_description", "name"],
        }
    }
}

/// A header as compared with `usual_headers`: lower case, spaces, dashes and dots as `_`.
pub fn header_word(header: &str) -> String {
    let lower = header.trim().to_lowercase();
    let joined: String = lower.chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    joined.split('_').filter(|part| !part.is_empty()).collect::<Vec<_>>().join("_")
}

/// One line of the register, its fields already picked out by the column mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegisterLine {
    /// Where it is in the file (a CSV line, a spreadsheet row).
    pub line: u64,
    /// The asset number.
    pub asset_number: Option<String>,
    /// The serial number.
    pub serial: Option<String>,
    /// The location.
    pub location: Option<String>,
    /// Finance's status.
    pub status: Option<String>,
    /// Finance's description.
    pub description: Option<String>,
}

impl RegisterLine {
    /// Whether finance has written the asset off (disposed, sold, scrapped, retired).
    pub fn disposed(&self) -> bool {
        const WORDS: &[&str] =
            &["dispos", "retire", "scrap", "sold", "written_off", "write_off", "deactivat"];
        self.status.as_deref().map(header_word).is_some_and(|status| WORDS.iter().any(|w| status.contains(w)))
    }

    /// How the line is named in findings: its asset number, else its line.
    fn name(&self) -> String {
        match &self.asset_number {
            Some(number) => number.clone(),
            None => format!("line {}", self.line),
        }
    }
}

/// A serial as compared: upper case, letters and digits only (finance types `c02-fx1a aq6l4`).
pub fn normalise_serial(serial: &str) -> String {
    serial.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

fn normalise_number(number: &str) -> String {
    number.trim().to_uppercase()
}

/// The asset's serial: its `serial` (or `serial_number`, `SerialNumber`) attribute, else for
/// hardware the last `:` part of its key (a file source's key is `file:NAME:TYPE:SERIAL`).
pub fn asset_serial(asset: &Asset) -> Option<String> {
    let attribute = ["serial", "serial_number", "SerialNumber"]
        .iter()
        .find_map(|name| asset.attributes.get(*name).and_then(|v| v.as_str()).map(str::to_owned));
    attribute.or_else(|| {
        (asset.kind == Kind::Hardware).then(|| asset.key.rsplit(':').next().unwrap_or(&asset.key).to_owned())
    })
}

/// Whether the inventory counts the asset as existing (not decommissioned, not gone).
fn active(asset: &Asset) -> bool {
    !matches!(asset.status, Status::Decommissioning | Status::Decommissioned)
}

word_enum! {
    /// Where a register line or an inventory asset ends up.
    pub enum Class {
        /// The line and the asset agree.
        Matched = "matched",
        /// The line and the asset are one, but disagree on location, serial or status.
        Differences = "matched_with_differences",
        /// On the books, not in the inventory (a "ghost").
        OnlyInRegister = "only_in_register",
        /// Hardware in the inventory that the books do not hold.
        OnlyInInventory = "only_in_inventory",
        /// A number or serial that names more than one line or asset.
        Ambiguous = "ambiguous",
    }
}

impl Class {
    /// The check its findings are reported under (`None`: nothing to report).
    pub fn check(self) -> Option<&'static str> {
        match self {
            Class::Matched => None,
            Class::Differences => Some("register/differs"),
            Class::OnlyInRegister => Some("register/only-in-register"),
            Class::OnlyInInventory => Some("register/only-in-inventory"),
            Class::Ambiguous => Some("register/ambiguous"),
        }
    }
}

/// Every check a register audit reports, for resolving what it no longer finds.
pub const CHECKS: &[&str] =
    &["register/ambiguous", "register/differs", "register/only-in-inventory", "register/only-in-register"];

/// The check that the register audit itself was done in time.
pub const OVERDUE_CHECK: &str = "register/overdue";

/// Whether the last register audit (`last`, when one ran) is within `every_days` of `now`: a
/// failing result when it is not, so a skipped audit shows as an INV-01 finding, and a passing
/// one that resolves it once an audit ran. Its key is `register`.
pub fn overdue(last: Option<Timestamp>, every_days: u32, now: Timestamp) -> Finding {
    let limit = i64::from(every_days) * 86_400 * 1_000_000;
    let age = last.map(|at| now.as_micros() - at.as_micros());
    let (status, message) = match (last, age) {
        (Some(at), Some(age)) if age <= limit => {
            (FindingStatus::Pass, format!("the fixed-asset register was last reconciled at {at}"))
        }
        (Some(at), _) => (
            FindingStatus::Fail,
            format!(
                "the fixed-asset register was last reconciled at {at}, more than {every_days} days ago \
                 ([audit] register_every_days)"
            ),
        ),
        (None, _) => (FindingStatus::Fail, "the fixed-asset register has never been reconciled".to_owned()),
    };
    Finding {
        check: OVERDUE_CHECK.to_owned(),
        title: "The fixed-asset register reconciliation is overdue".to_owned(),
        controls: vec!["INV-01".to_owned()],
        key: "register".to_owned(),
        status,
        severity: Severity::Medium,
        message,
        evidence: serde_json::json!({"last_audit": last, "register_every_days": every_days}),
        remediation: "Export the fixed-asset register from finance and run `plumb audit register FILE` \
                      (policy §6: bi-monthly)."
            .to_owned(),
        first_seen: now,
        last_seen: now,
    }
}

/// How a line found its asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The asset number is the asset's `financial_ref`.
    AssetNumber,
    /// The serials agree once normalised.
    Serial,
}

impl MatchedBy {
    /// The word printed for it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::AssetNumber => "asset_number",
            MatchedBy::Serial => "serial",
        }
    }
}

/// One field on which a line and its asset disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `location`, `serial` or `status`.
    pub field: &'static str,
    /// The register's value.
    pub register: String,
    /// The inventory's value.
    pub inventory: String,
}

/// One outcome of the reconciliation: a line, an asset, or both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The class.
    pub class: Class,
    /// The register's line, when one is involved.
    pub line: Option<RegisterLine>,
    /// The asset's key, when one is involved.
    pub key: Option<String>,
    /// How the line found the asset.
    pub matched_by: Option<MatchedBy>,
    /// What disagrees (`Differences` only).
    pub differences: Vec<Difference>,
    /// Why, in a sentence.
    pub reason: String,
}

impl Entry {
    /// The finding key: the asset's key, else `register:` and the line's number or line.
    pub fn finding_key(&self) -> String {
        match (&self.key, &self.line) {
            (Some(key), _) => key.clone(),
            (None, Some(line)) => format!("register:{}", line.name()),
            (None, None) => "register".to_owned(),
        }
    }
}

/// Reconciles the register's lines with the inventory's assets. Every line ends in one entry;
/// so does every active hardware asset no line matched (only in the inventory), and every
/// asset a number or serial names alongside others (ambiguous). Entries are sorted by class,
/// then finding key.
pub fn reconcile(lines: &[RegisterLine], assets: &[Asset]) -> Vec<Entry> {
    let by_number = index(assets, |a| a.financial_ref.as_deref().map(normalise_number));
    let by_serial =
        index(assets, |a| asset_serial(a).map(|s| normalise_serial(&s)).filter(|s| !s.is_empty()));
    let line_numbers = count(lines.iter().filter_map(|l| l.asset_number.as_deref().map(normalise_number)));
    let mut entries = Vec::new();
    let mut claimed: BTreeSet<usize> = BTreeSet::new();
    for line in lines {
        let number = line.asset_number.as_deref().map(normalise_number).filter(|n| !n.is_empty());
        let serial = line.serial.as_deref().map(normalise_serial).filter(|s| !s.is_empty());
        if let Some(n) = number.as_ref().filter(|n| line_numbers.get(*n).copied().unwrap_or(0) > 1) {
            entries
                .push(ambiguous(line, format!("asset number {n} is on more than one line of the register")));
            continue;
        }
        let found = match (number.as_ref().and_then(|n| by_number.get(n)), serial.as_ref()) {
            (Some(found), _) => Some((found, MatchedBy::AssetNumber)),
            (None, Some(s)) => by_serial.get(s).map(|found| (found, MatchedBy::Serial)),
            (None, None) => None,
        };
        match found {
            None => entries.push(Entry {
                class: Class::OnlyInRegister,
                line: Some(line.clone()),
                key: None,
                matched_by: None,
                differences: Vec::new(),
                reason: format!("{} is on the books but no asset has its number or serial", line.name()),
            }),
            Some((found, by)) if found.len() > 1 => {
                claimed.extend(found.iter().copied());
                let keys: Vec<&str> = found.iter().map(|i| assets[*i].key.as_str()).collect();
                let what = if by == MatchedBy::AssetNumber { "asset number" } else { "serial" };
                entries.push(ambiguous(
                    line,
                    format!("its {what} is held by {} assets: {}", keys.len(), keys.join(", ")),
                ));
            }
            Some((found, by)) => {
                let asset = &assets[found[0]];
                claimed.insert(found[0]);
                entries.push(matched(line, asset, by));
            }
        }
    }
    for (i, asset) in assets.iter().enumerate() {
        if claimed.contains(&i) || asset.kind != Kind::Hardware || !active(asset) {
            continue;
        }
        let reason = match &asset.financial_ref {
            None => "hardware in the inventory without a financial_ref: not capitalised, or not recorded"
                .to_owned(),
            Some(number) => format!("its financial_ref {number} is not on the register"),
        };
        entries.push(Entry {
            class: Class::OnlyInInventory,
            line: None,
            key: Some(asset.key.clone()),
            matched_by: None,
            differences: Vec::new(),
            reason,
        });
    }
    entries.sort_by_key(|e| (e.class, e.finding_key(), e.line.as_ref().map(|l| l.line)));
    entries
}

fn index(assets: &[Asset], key: impl Fn(&Asset) -> Option<String>) -> BTreeMap<String, Vec<usize>> {
    let mut index: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, asset) in assets.iter().enumerate() {
        if let Some(k) = key(asset).filter(|k| !k.is_empty()) {
            index.entry(k).or_default().push(i);
        }
    }
    index
}

fn count(values: impl Iterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_insert(0) += 1;
    }
    counts
}

fn ambiguous(line: &RegisterLine, reason: String) -> Entry {
    Entry {
        class: Class::Ambiguous,
        line: Some(line.clone()),
        key: None,
        matched_by: None,
        differences: Vec::new(),
        reason: format!("{}: {reason}", line.name()),
    }
}

fn matched(line: &RegisterLine, asset: &Asset, by: MatchedBy) -> Entry {
    let differences = differences(line, asset);
    let (class, reason) = if differences.is_empty() {
        (Class::Matched, format!("{} is {}", line.name(), asset.key))
    } else {
        let fields: Vec<&str> = differences.iter().map(|d| d.field).collect();
        (
            Class::Differences,
            format!("{} is {}, but they differ on {}", line.name(), asset.key, fields.join(", ")),
        )
    };
    Entry {
        class,
        line: Some(line.clone()),
        key: Some(asset.key.clone()),
        matched_by: Some(by),
        differences,
        reason,
    }
}

fn differences(line: &RegisterLine, asset: &Asset) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut differ = |field, register: &str, inventory: &str| {
        out.push(Difference { field, register: register.to_owned(), inventory: inventory.to_owned() });
    };
    if let (Some(register), Some(inventory)) = (&line.location, &asset.location)
        && register.trim().to_lowercase() != inventory.trim().to_lowercase()
    {
        differ("location", register, inventory);
    }
    if let (Some(register), Some(inventory)) = (&line.serial, asset_serial(asset))
        && normalise_serial(register) != normalise_serial(&inventory)
    {
        differ("serial", register, &inventory);
    }
    let register_status = line.status.clone().unwrap_or_default();
    if line.disposed() && active(asset) {
        differ(
            "status",
            &format!("{register_status} (disposed)"),
            &format!("{} (still active)", asset.status),
        );
    } else if !line.disposed() && asset.status == Status::Decommissioned {
        differ("status", &format!("{register_status} (still on the books)"), "decommissioned");
    }
    out
}

/// The findings of a reconciliation (INV-01): one per (check, key) of the entries that are not
/// a plain match; the lines of one asset number on the register twice make one finding.
pub fn findings(entries: &[Entry], now: Timestamp) -> Vec<Finding> {
    let mut findings: BTreeMap<(&'static str, String), Finding> = BTreeMap::new();
    for entry in entries {
        let Some(check) = entry.class.check() else { continue };
        let evidence = serde_json::json!({
            "class": entry.class,
            "line": entry.line,
            "matched_by": entry.matched_by,
            "differences": entry.differences,
        });
        let key = entry.finding_key();
        if let Some(finding) = findings.get_mut(&(check, key.clone())) {
            finding.message = format!("{}; {}", finding.message, entry.reason);
            if let Some(list) = finding.evidence["entries"].as_array_mut() {
                list.push(evidence);
            }
            continue;
        }
        let (title, remediation, severity) = describe(entry.class);
        findings.insert(
            (check, key.clone()),
            Finding {
                check: check.to_owned(),
                title: title.to_owned(),
                controls: vec!["INV-01".to_owned()],
                key,
                status: FindingStatus::Fail,
                severity,
                message: entry.reason.clone(),
                evidence: serde_json::json!({"entries": [evidence]}),
                remediation: remediation.to_owned(),
                first_seen: now,
                last_seen: now,
            },
        );
    }
    findings.into_values().collect()
}

fn describe(class: Class) -> (&'static str, &'static str, Severity) {
    match class {
        Class::Matched => ("Matched the register", "", Severity::Info),
        Class::Differences => (
            "The register and the inventory disagree",
            "Correct whichever side is wrong: the asset's location, serial or status in plumb, or the \
             register line with finance. A disposed line for an active asset, or a decommissioned asset \
             still on the books, needs finance's disposal or the asset's decommissioning.",
            Severity::Medium,
        ),
        Class::OnlyInRegister => (
            "On the register, not in the inventory",
            "Find the asset and register it with this financial_ref (policy §3: register before service), \
             or have finance dispose of the line.",
            Severity::Medium,
        ),
        Class::OnlyInInventory => (
            "Hardware in the inventory, not on the register",
            "Give the asset its financial_ref from finance's register, or ask finance to capitalise it \
             (below the threshold: record that on the asset).",
            Severity::Low,
        ),
        Class::Ambiguous => (
            "A register number or serial names more than one",
            "Make the asset number unique on the register, or the financial_ref and serial unique in the \
             inventory, so each line names one asset.",
            Severity::Medium,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AssetId;

    fn hardware(key: &str, financial_ref: Option<&str>, location: &str, status: Status) -> Asset {
        let now: Timestamp = "2026-12-07T00:00:00Z".parse().unwrap();
        Asset {
            id: AssetId(ulid::Ulid::nil()),
            key: key.to_owned(),
            name: key.to_owned(),
            kind: Kind::Hardware,
            asset_type: "server".to_owned(),
            environment: None,
            owner: None,
            manager: None,
            classification: None,
            location: Some(location.to_owned()),
            status,
            source: "manual".to_owned(),
            financial_ref: financial_ref.map(str::to_owned),
            tags: Default::default(),
            attributes: serde_json::json!({}),
            first_seen: now,
            last_seen: now,
            scope: None,
            absent_since: None,
            provenance: Default::default(),
        }
    }

    fn line(n: u64, number: &str, serial: &str, status: &str) -> RegisterLine {
        let text = |t: &str| (!t.is_empty()).then(|| t.to_owned());
        RegisterLine {
            line: n,
            asset_number: text(number),
            serial: text(serial),
            status: text(status),
            ..RegisterLine::default()
        }
    }

    fn classes(entries: &[Entry]) -> Vec<(Class, String)> {
        entries.iter().map(|e| (e.class, e.finding_key())).collect()
    }

    #[test]
    fn every_class_from_one_register() {
        let assets = vec![
            hardware("SRV-1", Some("FA-1"), "DC1", Status::InService),
            hardware("file:mdm:laptop:C02-AB", None, "London", Status::InService),
            hardware("SRV-3", Some("FA-3"), "DC1", Status::InService),
            hardware("SRV-4", None, "DC1", Status::InService),
            hardware("SRV-5", Some("FA-5"), "DC1", Status::Decommissioned),
            hardware("SRV-6", Some("FA-6"), "DC1", Status::Decommissioned),
            hardware("SRV-7", Some("FA-7"), "DC1", Status::InService),
            hardware("SRV-7B", Some("fa-7 "), "DC1", Status::InService),
            hardware("SRV-8", None, "DC1", Status::Decommissioned),
        ];
        let lines = vec![
            line(2, "FA-1", "SRV-1", "in use"),
            line(3, "FA-2", "c02 ab", "in use"),
            line(4, "FA-3", "", "Disposed"),
            line(5, "FA-5", "", "in use"),
            line(6, "FA-6", "", "scrapped"),
            line(7, "FA-7", "", "in use"),
            line(8, "FA-9", "", "in use"),
            line(9, "FA-9", "", "in use"),
            line(10, "FA-10", "NOPE", "in use"),
        ];
        let entries = reconcile(&lines, &assets);
        assert_eq!(
            classes(&entries),
            [
                (Class::Matched, "SRV-1".to_owned()),
                (Class::Matched, "SRV-6".to_owned()),
                (Class::Matched, "file:mdm:laptop:C02-AB".to_owned()),
                (Class::Differences, "SRV-3".to_owned()),
                (Class::Differences, "SRV-5".to_owned()),
                (Class::OnlyInRegister, "register:FA-10".to_owned()),
                (Class::OnlyInInventory, "SRV-4".to_owned()),
                (Class::Ambiguous, "register:FA-7".to_owned()),
                (Class::Ambiguous, "register:FA-9".to_owned()),
                (Class::Ambiguous, "register:FA-9".to_owned()),
            ]
        );
        let laptop = entries.iter().find(|e| e.key.as_deref() == Some("file:mdm:laptop:C02-AB")).unwrap();
        assert_eq!(laptop.matched_by, Some(MatchedBy::Serial));
        let disposed = entries.iter().find(|e| e.key.as_deref() == Some("SRV-3")).unwrap();
        assert_eq!(disposed.differences[0].field, "status");
        assert!(disposed.differences[0].inventory.contains("still active"), "{disposed:?}");
        let on_books = entries.iter().find(|e| e.key.as_deref() == Some("SRV-5")).unwrap();
        assert!(on_books.differences[0].register.contains("still on the books"), "{on_books:?}");
        let found = findings(&entries, "2026-12-07T00:00:00Z".parse().unwrap());
        assert_eq!(found.len(), 6, "every entry but the matches, FA-9's two lines as one");
        let twice = found.iter().find(|f| f.key == "register:FA-9").unwrap();
        assert_eq!(twice.evidence["entries"].as_array().map(Vec::len), Some(2));
        assert!(found.iter().all(|f| f.controls == ["INV-01"] && f.check.starts_with("register/")));
        assert!(found.iter().all(|f| CHECKS.contains(&f.check.as_str())));
    }

    #[test]
    fn location_and_serial_differences_are_named() {
        let mut asset = hardware("SRV-1", Some("FA-1"), "DC1 rack 4", Status::InService);
        asset.attributes = serde_json::json!({"serial": "ABC-1"});
        let line = RegisterLine { location: Some("dc2".into()), ..line(2, "FA-1", "abc 2", "") };
        let entries = reconcile(&[line], &[asset]);
        let fields: Vec<&str> = entries[0].differences.iter().map(|d| d.field).collect();
        assert_eq!(fields, ["location", "serial"]);
        assert_eq!(entries[0].class, Class::Differences);
    }

    #[test]
    fn an_audit_older_than_its_interval_is_overdue() {
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        let now = at("2026-12-07T00:00:00Z");
        assert_eq!(overdue(Some(at("2026-10-06T00:00:00Z")), 62, now).status, FindingStatus::Pass);
        let late = overdue(Some(at("2026-10-05T23:59:59Z")), 62, now);
        assert_eq!(late.status, FindingStatus::Fail);
        assert!(late.message.contains("more than 62 days"), "{}", late.message);
        assert_eq!(overdue(None, 62, now).status, FindingStatus::Fail);
    }

    #[test]
    fn headers_are_compared_as_words() {
        assert_eq!(header_word(" Serial Number "), "serial_number");
        assert_eq!(header_word("Main-Asset.Number"), "main_asset_number");
        assert!(RegisterField::Serial.usual_headers().contains(&header_word("SERIAL-NO").as_str()));
    }
}

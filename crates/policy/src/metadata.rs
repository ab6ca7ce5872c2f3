//! OPA metadata annotations (`# METADATA` followed by YAML in comments) and package names.

use serde::Deserialize;

/// The YAML of a `# METADATA` block, as far as plumb reads it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Annotations {
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub custom: Custom,
}

/// plumb's own keys, under `custom:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Custom {
    pub id: Option<String>,
    pub severity: Option<String>,
    #[serde(default)]
    pub controls: Vec<String>,
    pub remediation: Option<String>,
    /// `resource` (default) or `account`.
    pub scope: Option<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub context: Vec<String>,
    #[serde(default)]
    pub requires: Vec<String>,
}

/// The first `# METADATA` block of a file, parsed; `None` when there is none.
pub(crate) fn annotations(text: &str) -> Result<Option<Annotations>, String> {
    let mut lines = text.lines().skip_while(|l| l.trim() != "# METADATA");
    if lines.next().is_none() {
        return Ok(None);
    }
    let yaml: Vec<&str> = lines
        .map_while(|l| l.trim_start().strip_prefix('#'))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    yaml_serde::from_str(&yaml.join("\n")).map(Some).map_err(|err| err.to_string())
}

/// The package a file declares (`plumb.cis_aws_1_5.c2_1_1`).
pub(crate) fn package(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("package ")?;
        Some(rest.trim().trim_end_matches(';').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_package_are_read() {
        let text = "# METADATA\n# title: Root MFA\n# custom:\n#   id: \"1.5\"\n#   severity: critical\n#   controls: [\"CIS 1.5\"]\npackage plumb.cis.c1_5\n\nimport rego.v1\n";
        let found = annotations(text).unwrap().unwrap();
        assert_eq!(found.title.as_deref(), Some("Root MFA"));
        assert_eq!(found.custom.id.as_deref(), Some("1.5"));
        assert_eq!(found.custom.controls, ["CIS 1.5"]);
        assert_eq!(package(text).as_deref(), Some("plumb.cis.c1_5"));
        assert!(annotations("package main\n").unwrap().is_none());
        assert!(
            annotations("# METADATA\n# custom:\n#   colour: red\npackage x\n")
                .unwrap_err()
                .contains("colour")
        );
    }
}

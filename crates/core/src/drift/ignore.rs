//! `.plumbignore`: which drift to leave out, in driftctl's `.driftignore` pattern language so
//! teams keep the files they have.
//!
//! ```text
//! # comments and blank lines are skipped
//! aws_iam_user.*                    every resource of a type
//! aws_s3_bucket.legacy-logs         one resource (type.id)
//! aws_iam_role.ci-*                 a wildcard in the id
//! aws_instance.i-0abc.tags.Owner    one attribute of one resource (changed items only)
//! !aws_iam_user.break-glass         negation: a later `!` line takes a resource back
//! aws_iam_policy.arn:aws:iam::1:policy/a\.b   `\.` is a dot inside an id
//! ```
//!
//! As in gitignore, the last matching line decides.

use thiserror::Error;

use crate::glob::wildcard;

/// A pattern that could not be read.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error(
    "line {line}: {problem} in {text:?}; expected TYPE.ID or TYPE.ID.ATTRIBUTE, optionally with `*` and a leading `!`"
)]
pub struct IgnoreError {
    /// The 1-based line number.
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// What is wrong with it.
    pub problem: String,
}

/// One line of an ignore file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    negated: bool,
    resource_type: String,
    id: String,
    /// Empty for a whole resource.
    attribute: Vec<String>,
}

/// The rules of an ignore file, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Parses an ignore file's text.
    pub fn parse(text: &str) -> Result<IgnoreRules, IgnoreError> {
        let mut rules = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            rules.push(rule(line).map_err(|problem| IgnoreError {
                line: index + 1,
                text: raw.to_owned(),
                problem,
            })?);
        }
        Ok(IgnoreRules { rules })
    }

    /// Whether the rules have nothing in them.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether the whole resource `resource_type`.`id` is ignored.
    pub fn ignores_resource(&self, resource_type: &str, id: &str) -> bool {
        self.decide(resource_type, id, None)
    }

    /// Whether the attribute `path` (dotted, such as `tags.Owner`) of a resource is ignored,
    /// by a rule on the attribute (or an enclosing one) or on the whole resource.
    pub fn ignores_attribute(&self, resource_type: &str, id: &str, path: &str) -> bool {
        let segments: Vec<&str> = path.split('.').collect();
        self.decide(resource_type, id, Some(&segments))
    }

    fn decide(&self, resource_type: &str, id: &str, attribute: Option<&[&str]>) -> bool {
        let mut ignored = false;
        for rule in &self.rules {
            if !wildcard(&rule.resource_type, resource_type) || !wildcard(&rule.id, id) {
                continue;
            }
            let applies = match attribute {
                None => rule.attribute.is_empty(),
                Some(path) => {
                    rule.attribute.len() <= path.len()
                        && rule
                            .attribute
                            .iter()
                            .zip(path)
                            .all(|(pattern, segment)| wildcard(pattern, segment))
                }
            };
            if applies {
                ignored = !rule.negated;
            }
        }
        ignored
    }
}

fn rule(line: &str) -> Result<Rule, String> {
    let (negated, body) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, line),
    };
    let segments = split(body)?;
    let mut segments = segments.into_iter();
    let resource_type = segments.next().unwrap_or_default();
    if resource_type.is_empty() {
        return Err("no resource type".to_owned());
    }
    if !resource_type.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '*') {
        return Err(format!("{resource_type:?} is not a Terraform resource type"));
    }
    let id = segments.next().ok_or_else(|| format!("no resource id after {resource_type:?}"))?;
    if id.is_empty() {
        return Err("an empty resource id".to_owned());
    }
    let attribute: Vec<String> = segments.collect();
    if attribute.iter().any(String::is_empty) {
        return Err("an empty attribute name".to_owned());
    }
    Ok(Rule { negated, resource_type, id, attribute })
}

/// Splits on dots that are not escaped with a backslash.
fn split(body: &str) -> Result<Vec<String>, String> {
    let mut segments = vec![String::new()];
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => segments.last_mut().map_or((), |s| s.push(escaped)),
                None => return Err("a `\\` at the end of the line escapes nothing".to_owned()),
            },
            '.' => segments.push(String::new()),
            c if c.is_whitespace() => return Err("a space inside the pattern".to_owned()),
            c => segments.last_mut().map_or((), |s| s.push(c)),
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text).unwrap()
    }

    #[test]
    fn a_whole_type() {
        let rules = rules("# users come from the IdP\naws_iam_user.*\n");
        assert!(rules.ignores_resource("aws_iam_user", "alice"));
        assert!(!rules.ignores_resource("aws_iam_role", "alice"));
    }

    #[test]
    fn one_resource_and_a_wildcard_in_the_id() {
        let rules = rules("aws_s3_bucket.legacy-logs\naws_iam_role.ci-*-deploy\n");
        assert!(rules.ignores_resource("aws_s3_bucket", "legacy-logs"));
        assert!(!rules.ignores_resource("aws_s3_bucket", "legacy-logs-2"));
        assert!(rules.ignores_resource("aws_iam_role", "ci-web-deploy"));
        assert!(!rules.ignores_resource("aws_iam_role", "ci-web-build"));
    }

    #[test]
    fn one_attribute_of_one_resource() {
        let rules = rules("aws_instance.i-0abc.tags.Owner\naws_s3_bucket.logs.versioning\n");
        assert!(rules.ignores_attribute("aws_instance", "i-0abc", "tags.Owner"));
        assert!(!rules.ignores_attribute("aws_instance", "i-0abc", "tags.Name"));
        assert!(!rules.ignores_attribute("aws_instance", "i-0def", "tags.Owner"));
        assert!(rules.ignores_attribute("aws_s3_bucket", "logs", "versioning.enabled"));
        assert!(!rules.ignores_resource("aws_instance", "i-0abc"), "an attribute rule keeps the resource");
    }

    #[test]
    fn a_resource_rule_covers_its_attributes() {
        let rules = rules("aws_instance.i-0abc\n");
        assert!(rules.ignores_attribute("aws_instance", "i-0abc", "instance_type"));
    }

    #[test]
    fn negation_takes_back_what_an_earlier_line_ignored() {
        let rules = rules("aws_iam_user.*\n!aws_iam_user.break-glass\n");
        assert!(rules.ignores_resource("aws_iam_user", "alice"));
        assert!(!rules.ignores_resource("aws_iam_user", "break-glass"));
        let reversed = self::rules("!aws_iam_user.break-glass\naws_iam_user.*\n");
        assert!(reversed.ignores_resource("aws_iam_user", "break-glass"), "the last matching line decides");
    }

    #[test]
    fn escaped_dots_belong_to_the_id() {
        let rules = rules(r"aws_s3_bucket.www\.example\.com");
        assert!(rules.ignores_resource("aws_s3_bucket", "www.example.com"));
    }

    #[test]
    fn bad_patterns_name_their_line() {
        for (text, problem) in [
            ("aws_s3_bucket.ok\n\nAWS_S3.x\n", "is not a Terraform resource type"),
            ("# c\naws_s3_bucket\n", "no resource id"),
            ("!\n", "no resource type"),
            ("aws_s3_bucket.\n", "an empty resource id"),
            ("aws_s3_bucket.a..b\n", "an empty attribute name"),
            ("aws_s3_bucket.a\\", "escapes nothing"),
            ("aws_s3_bucket.a b\n", "a space"),
        ] {
            let err = IgnoreRules::parse(text).unwrap_err();
            assert!(err.problem.contains(problem), "{text:?}: {err}");
            assert_eq!(err.line, text.lines().count(), "{text:?}");
        }
    }
}

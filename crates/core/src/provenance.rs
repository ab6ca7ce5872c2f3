//! Who set each inventory field, and the rule between people and tags.
//!
//! A field a person set (`plumb asset add`, `set`, an import) is never overwritten by a cloud
//! tag or a collector: anyone with `ec2:CreateTags` could otherwise reclassify an asset or move
//! it out of production. A tag (or a collector's own field) fills an empty field, or one tags
//! filled before; when it disagrees with a person's value, the person's value stays and the
//! tag is recorded as a conflict, which the inventory check `tag-conflict` reports. Production
//! owners and managers come from the roles whatever anyone says.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Set by a person.
pub const PERSON: &str = "person";
/// Set by the production ownership rule from the role holders.
pub const ROLES: &str = "roles";
/// Set by a collector from its own data (a file source's mapped column).
pub const SOURCE: &str = "source";
/// Set by a collector as a default (an AWS resource's account and region as its location).
pub const DEFAULT: &str = "default";

/// A cloud tag's origin: `tag:KEY`.
pub fn tag(key: &str) -> String {
    format!("tag:{key}")
}

/// Who set one field, and a tag that disagrees with a person's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSource {
    /// [`PERSON`], [`ROLES`], [`SOURCE`], [`DEFAULT`], or `tag:KEY`.
    pub set_by: String,
    /// `KEY=VALUE` of a tag that says otherwise than the value kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicting_tag: Option<String>,
}

impl FieldSource {
    fn new(set_by: &str) -> FieldSource {
        FieldSource { set_by: set_by.to_owned(), conflicting_tag: None }
    }

    /// Whether a collector set it, so a collector may change it.
    fn collected(&self) -> bool {
        self.set_by.starts_with("tag:") || self.set_by == SOURCE || self.set_by == DEFAULT
    }
}

/// Field → who set it.
pub type Provenance = BTreeMap<String, FieldSource>;

/// What a collector says one field should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The value, mapped onto the configured words.
    pub value: String,
    /// `tag:KEY` or [`SOURCE`].
    pub origin: String,
    /// As the tag says it (`Environment=prod`), for a conflict.
    pub said: String,
}

/// Records that a person set `field` (to a value, or cleared it).
pub fn set_by_person(provenance: &mut Provenance, field: &str, value: Option<&str>) {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(_) => {
            provenance.insert(field.to_owned(), FieldSource::new(PERSON));
        }
        None => {
            provenance.remove(field);
        }
    }
}

/// Applies what a collector observed for one field.
pub fn settle(
    slot: &mut Option<String>,
    provenance: &mut Provenance,
    field: &str,
    observed: Option<Observed>,
) {
    let Some(observed) = observed else {
        // The disagreeing tag is gone.
        if let Some(source) = provenance.get_mut(field) {
            source.conflicting_tag = None;
        }
        return;
    };
    let current = provenance.get(field);
    let fill = match (slot.as_deref(), current) {
        (None, _) => true,
        (Some(_), Some(source)) => source.collected(),
        // Recorded before provenance was: the tag's own value is the tag's, anything else a
        // person's.
        (Some(value), None) => value == observed.value,
    };
    if fill {
        *slot = Some(observed.value);
        provenance.insert(field.to_owned(), FieldSource::new(&observed.origin));
        return;
    }
    let agrees = slot.as_deref() == Some(observed.value.as_str());
    let entry = provenance.entry(field.to_owned()).or_insert_with(|| FieldSource::new(PERSON));
    entry.conflicting_tag = (!agrees).then_some(observed.said);
}

/// Sets a field by a rule (the production roles, a default), noting a tag that disagrees.
pub fn set_by_rule(
    slot: &mut Option<String>,
    provenance: &mut Provenance,
    field: &str,
    value: Option<String>,
    set_by: &str,
    observed: Option<&Observed>,
) {
    *slot = value;
    let mut source = FieldSource::new(set_by);
    source.conflicting_tag =
        observed.filter(|o| slot.as_deref() != Some(o.value.as_str())).map(|o| o.said.clone());
    if slot.is_some() {
        provenance.insert(field.to_owned(), source);
    } else {
        provenance.remove(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner_tag(value: &str) -> Option<Observed> {
        Some(Observed { value: value.to_owned(), origin: tag("Owner"), said: format!("Owner={value}") })
    }

    #[test]
    fn tags_fill_and_follow_what_tags_set_and_never_what_people_set() {
        let (mut owner, mut provenance) = (None, Provenance::new());
        settle(&mut owner, &mut provenance, "owner", owner_tag("a@x"));
        assert_eq!((owner.as_deref(), provenance["owner"].set_by.as_str()), (Some("a@x"), "tag:Owner"));
        settle(&mut owner, &mut provenance, "owner", owner_tag("b@x"));
        assert_eq!(owner.as_deref(), Some("b@x"), "a tag may change what a tag set");

        set_by_person(&mut provenance, "owner", Some("ana@x"));
        owner = Some("ana@x".to_owned());
        settle(&mut owner, &mut provenance, "owner", owner_tag("mallory@x"));
        assert_eq!(owner.as_deref(), Some("ana@x"), "a tag never overwrites a person");
        assert_eq!(provenance["owner"].conflicting_tag.as_deref(), Some("Owner=mallory@x"));
        settle(&mut owner, &mut provenance, "owner", owner_tag("ana@x"));
        assert_eq!(provenance["owner"].conflicting_tag, None, "the tag agrees again");
        settle(&mut owner, &mut provenance, "owner", owner_tag("bo@x"));
        settle(&mut owner, &mut provenance, "owner", None);
        assert_eq!(provenance["owner"], FieldSource::new(PERSON), "the tag was removed");
    }

    #[test]
    fn values_recorded_before_provenance_are_a_persons_unless_the_tag_says_the_same() {
        let (mut owner, mut provenance) = (Some("ana@x".to_owned()), Provenance::new());
        settle(&mut owner, &mut provenance, "owner", owner_tag("ana@x"));
        assert_eq!(provenance["owner"].set_by, "tag:Owner");
        let (mut owner, mut provenance) = (Some("ana@x".to_owned()), Provenance::new());
        settle(&mut owner, &mut provenance, "owner", owner_tag("bo@x"));
        assert_eq!(owner.as_deref(), Some("ana@x"));
        assert_eq!(provenance["owner"].set_by, PERSON);
        assert_eq!(provenance["owner"].conflicting_tag.as_deref(), Some("Owner=bo@x"));
    }

    #[test]
    fn rules_win_and_note_a_disagreeing_tag() {
        let (mut owner, mut provenance) = (Some("ana@x".to_owned()), Provenance::new());
        set_by_rule(
            &mut owner,
            &mut provenance,
            "owner",
            Some("hop@x".to_owned()),
            ROLES,
            owner_tag("dev@x").as_ref(),
        );
        assert_eq!(owner.as_deref(), Some("hop@x"));
        assert_eq!(provenance["owner"].conflicting_tag.as_deref(), Some("Owner=dev@x"));
    }
}

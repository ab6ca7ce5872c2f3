//! GitHub pull-request evidence for change control (policy §4: changes through a pull request
//! with peer review and automated checks). This file holds the REST shapes used and the pure
//! rules; `client` fetches them.
//!
//! The review rule: per reviewer, only the latest review that states a position counts
//! (`APPROVED`, `CHANGES_REQUESTED`, or `DISMISSED`, which withdraws one; `COMMENTED` and
//! `PENDING` change nothing). A pull request is independently approved when some reviewer
//! other than its author has `APPROVED` as their latest position *on the head commit*
//! (`commit_id` = the head SHA): an approval of an earlier commit did not see the code that
//! is merged. Any reviewer whose latest position is `CHANGES_REQUESTED` blocks, whatever
//! commit it was on, as GitHub itself does.
//!
//! The check rule: the required checks are those the branch protection's required status
//! checks and the branch's rulesets (`required_status_checks` rules) name, and any the caller
//! names; when none names any, every check run and commit status on the head commit is taken
//! as required, and with none of those either nothing passes (an approval alone is not change
//! control). A check passes with conclusion `success`, `neutral` or
//! `skipped` (GitHub accepts those for required checks: a skipped job is not a failure);
//! `failure`, `cancelled`, `timed_out`, `action_required`, `stale` and `startup_failure`
//! fail; a check that has not completed, or a required check that never ran, is not passed.

pub mod client;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `OWNER/NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    /// The owner (user or organisation).
    pub owner: String,
    /// The repository name.
    pub name: String,
}

impl Repo {
    /// Reads `OWNER/NAME`; says what is wrong otherwise.
    pub fn parse(text: &str) -> Result<Repo, String> {
        let valid =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => {
                Ok(Repo { owner: owner.to_owned(), name: name.to_owned() })
            }
            _ => Err(format!("expected OWNER/NAME, such as acme/infra, found {text:?}")),
        }
    }
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A GitHub account.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct User {
    /// The login.
    pub login: String,
}

/// A branch or commit a pull request points at.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct GitRef {
    /// The commit SHA.
    pub sha: String,
    /// The branch name.
    #[serde(rename = "ref")]
    pub branch: String,
}

/// A pull request (`GET /repos/{owner}/{repo}/pulls/{n}` and the pulls list).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Pull {
    /// Its number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its author (null for a deleted account).
    pub user: Option<User>,
    /// The head commit and branch.
    pub head: GitRef,
    /// The base branch.
    pub base: GitRef,
    /// `open` or `closed`.
    pub state: String,
    /// When it was merged, if it was.
    pub merged_at: Option<String>,
    /// When it last changed.
    pub updated_at: String,
    /// Its page.
    pub html_url: String,
}

impl Pull {
    /// The author's login (empty for a deleted account).
    pub fn author(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.login.as_str())
    }
}

/// A review (`GET /repos/{owner}/{repo}/pulls/{n}/reviews`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Review {
    /// Its id (increasing with time).
    pub id: u64,
    /// The reviewer (null for a deleted account).
    pub user: Option<User>,
    /// APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING.
    pub state: String,
    /// The commit the review was made on.
    pub commit_id: Option<String>,
    /// When it was submitted (absent while pending).
    pub submitted_at: Option<String>,
}

/// A check run (`GET /repos/{owner}/{repo}/commits/{sha}/check-runs`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct CheckRun {
    /// Its id (a re-run has a higher one).
    pub id: u64,
    /// The check's name, which required checks refer to.
    pub name: String,
    /// queued, in_progress or completed.
    pub status: String,
    /// The conclusion once completed.
    pub conclusion: Option<String>,
}

/// One page of check runs.
#[derive(Debug, Deserialize)]
pub struct CheckRuns {
    /// The runs on this page.
    pub check_runs: Vec<CheckRun>,
}

/// A commit status (`GET /repos/{owner}/{repo}/commits/{sha}/status`, `statuses[]`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct CommitStatus {
    /// The context, which required checks refer to.
    pub context: String,
    /// error, failure, pending or success.
    pub state: String,
}

/// The combined status of a commit.
#[derive(Debug, Deserialize)]
pub struct CombinedStatus {
    /// Each context's latest status.
    #[serde(default)]
    pub statuses: Vec<CommitStatus>,
}

/// `GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks`.
#[derive(Debug, Deserialize)]
pub struct RequiredStatusChecks {
    /// Required contexts (older field).
    #[serde(default)]
    pub contexts: Vec<String>,
    /// Required checks (newer field).
    #[serde(default)]
    pub checks: Vec<RequiredCheck>,
}

/// One required check.
#[derive(Debug, Deserialize)]
pub struct RequiredCheck {
    /// Its name.
    pub context: String,
}

impl RequiredStatusChecks {
    /// The required names, each once.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.contexts.iter().chain(self.checks.iter().map(|c| &c.context)).cloned().collect();
        names.sort();
        names.dedup();
        names
    }
}

/// One rule of `GET /repos/{owner}/{repo}/rules/branches/{branch}`: the rulesets in force on
/// a branch, flattened. Only `required_status_checks` rules matter here.
#[derive(Debug, Deserialize)]
pub struct BranchRule {
    /// The rule's type, such as `required_status_checks` or `pull_request`.
    #[serde(rename = "type")]
    pub rule_type: String,
    /// Its parameters.
    #[serde(default)]
    pub parameters: Option<RuleParameters>,
}

/// The parameters of a rule (those of `required_status_checks`).
#[derive(Debug, Deserialize)]
pub struct RuleParameters {
    /// The checks a `required_status_checks` rule requires.
    #[serde(default)]
    pub required_status_checks: Vec<RequiredCheck>,
}

/// The checks the rules require, each once.
pub fn ruleset_checks(rules: &[BranchRule]) -> Vec<String> {
    let mut names: Vec<String> = rules
        .iter()
        .filter(|rule| rule.rule_type == "required_status_checks")
        .flat_map(|rule| rule.parameters.iter().flat_map(|p| p.required_status_checks.iter()))
        .map(|check| check.context.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What the reviews of a pull request amount to.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReviewVerdict {
    /// Reviewers (not the author) whose latest position approves the head commit.
    pub approved_by: Vec<String>,
    /// Reviewers whose latest position approves an earlier commit.
    pub stale_approvals: Vec<String>,
    /// Reviewers whose latest position requests changes.
    pub changes_requested_by: Vec<String>,
}

impl ReviewVerdict {
    /// Whether the reviews let the pull request through.
    pub fn passes(&self) -> bool {
        !self.approved_by.is_empty() && self.changes_requested_by.is_empty()
    }

    /// Why not, for people; `None` when it passes.
    pub fn problem(&self) -> Option<String> {
        if !self.changes_requested_by.is_empty() {
            return Some(format!("changes requested by {}", self.changes_requested_by.join(", ")));
        }
        if self.approved_by.is_empty() {
            return Some(if self.stale_approvals.is_empty() {
                "no approving review by anyone other than the author".to_owned()
            } else {
                format!(
                    "approved only on an earlier commit (by {}), not on the head commit",
                    self.stale_approvals.join(", ")
                )
            });
        }
        None
    }
}

/// Applies the review rule (module documentation). With `until`, only reviews submitted by
/// then count (the audit asks what was true when the pull request was merged).
pub fn review_verdict(
    author: &str,
    head_sha: &str,
    reviews: &[Review],
    until: Option<Timestamp>,
) -> ReviewVerdict {
    let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
    let mut ordered: Vec<&Review> = reviews
        .iter()
        .filter(|r| matches!(r.state.as_str(), "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"))
        .filter(|r| match (until, submitted(r)) {
            (Some(until), Some(at)) => at <= until,
            (Some(_), None) => false,
            (None, _) => true,
        })
        .collect();
    ordered.sort_by_key(|r| (submitted(r), r.id));
    for review in ordered {
        if let Some(user) = &review.user {
            latest.insert(user.login.clone(), review);
        }
    }
    let mut verdict = ReviewVerdict::default();
    for (login, review) in latest {
        let is_author = login.eq_ignore_ascii_case(author);
        match review.state.as_str() {
            "APPROVED" if is_author => {}
            "APPROVED" if review.commit_id.as_deref() == Some(head_sha) => verdict.approved_by.push(login),
            "APPROVED" => verdict.stale_approvals.push(login),
            "CHANGES_REQUESTED" => verdict.changes_requested_by.push(login),
            _ => {}
        }
    }
    verdict
}

fn submitted(review: &Review) -> Option<Timestamp> {
    review.submitted_at.as_deref().and_then(|t| t.parse().ok())
}

/// The state of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// success, neutral or skipped.
    Passed,
    /// Any other conclusion (kept).
    Failed(String),
    /// Not completed yet (its status).
    Pending(String),
    /// Required, but never ran on the head commit.
    Missing,
}

/// One check and its state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// The check run name or status context.
    pub name: String,
    /// Its state.
    pub state: CheckState,
}

/// Applies the check rule. `required` is `None` when branch protection was not readable, and
/// then every run and status counts.
pub fn check_states(required: Option<&[String]>, runs: &[CheckRun], statuses: &[CommitStatus]) -> Vec<Check> {
    let mut latest_runs: BTreeMap<&str, &CheckRun> = BTreeMap::new();
    for run in runs {
        let newer = latest_runs.get(run.name.as_str()).is_none_or(|seen| seen.id < run.id);
        if newer {
            latest_runs.insert(&run.name, run);
        }
    }
    let state_of = |name: &str| -> Option<CheckState> {
        let from_run = latest_runs.get(name).map(|run| run_state(run));
        let from_status = statuses.iter().find(|s| s.context == name).map(status_state);
        match (from_run, from_status) {
            (Some(CheckState::Passed), _) | (_, Some(CheckState::Passed)) => Some(CheckState::Passed),
            (run, status) => run.or(status),
        }
    };
    let names: Vec<String> = match required {
        Some(required) => required.to_vec(),
        None => {
            let mut all: Vec<String> = latest_runs
                .keys()
                .map(|k| (*k).to_owned())
                .chain(statuses.iter().map(|s| s.context.clone()))
                .collect();
            all.sort();
            all.dedup();
            all
        }
    };
    names
        .into_iter()
        .map(|name| {
            let state = state_of(&name).unwrap_or(CheckState::Missing);
            Check { name, state }
        })
        .collect()
}

fn run_state(run: &CheckRun) -> CheckState {
    if run.status != "completed" {
        return CheckState::Pending(run.status.clone());
    }
    match run.conclusion.as_deref() {
        Some("success" | "neutral" | "skipped") => CheckState::Passed,
        Some(other) => CheckState::Failed(other.to_owned()),
        None => CheckState::Pending("completed without a conclusion".to_owned()),
    }
}

fn status_state(status: &CommitStatus) -> CheckState {
    match status.state.as_str() {
        "success" => CheckState::Passed,
        "pending" => CheckState::Pending("pending".to_owned()),
        other => CheckState::Failed(other.to_owned()),
    }
}

/// One merged pull request, judged for the change audit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MergedChange {
    /// Its number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its author.
    pub author: String,
    /// When it was merged.
    pub merged_at: String,
    /// The head commit that was merged.
    pub head_sha: String,
    /// Its page.
    pub url: String,
    /// Independent approvals of the head commit before the merge.
    pub approved_by: Vec<String>,
    /// Why it is flagged; `None` when it was independently approved.
    pub flag: Option<String>,
}

/// Judges a merged pull request by the reviews submitted up to its merge.
pub fn judge_merged(pull: &Pull, reviews: &[Review]) -> MergedChange {
    let merged_at = pull.merged_at.clone().unwrap_or_default();
    let verdict = review_verdict(pull.author(), &pull.head.sha, reviews, merged_at.parse().ok());
    MergedChange {
        number: pull.number,
        title: pull.title.clone(),
        author: pull.author().to_owned(),
        merged_at,
        head_sha: pull.head.sha.clone(),
        url: pull.html_url.clone(),
        flag: verdict.problem().map(|p| format!("merged without an independent approval: {p}")),
        approved_by: verdict.approved_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(id: u64, login: &str, state: &str, commit: &str, at: &str) -> Review {
        Review {
            id,
            user: Some(User { login: login.to_owned() }),
            state: state.to_owned(),
            commit_id: Some(commit.to_owned()),
            submitted_at: Some(format!("2024-05-0{at}T10:00:00Z")),
        }
    }

    fn check(reviews: &[Review], expect: (&[&str], &[&str], &[&str])) {
        let verdict = review_verdict("alice", "head", reviews, None);
        let got = (
            verdict.approved_by.clone(),
            verdict.stale_approvals.clone(),
            verdict.changes_requested_by.clone(),
        );
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(got, (own(expect.0), own(expect.1), own(expect.2)), "{reviews:?}");
    }

    #[test]
    fn latest_position_per_reviewer_on_the_head_commit() {
        check(&[review(1, "bob", "APPROVED", "head", "1")], (&["bob"], &[], &[]));
        check(&[review(1, "alice", "APPROVED", "head", "1")], (&[], &[], &[]));
        check(&[review(1, "bob", "APPROVED", "old", "1")], (&[], &["bob"], &[]));
        check(
            &[review(1, "bob", "CHANGES_REQUESTED", "old", "1"), review(2, "bob", "APPROVED", "head", "2")],
            (&["bob"], &[], &[]),
        );
        check(
            &[review(1, "bob", "APPROVED", "head", "1"), review(2, "bob", "COMMENTED", "head", "2")],
            (&["bob"], &[], &[]),
        );
        check(
            &[review(1, "bob", "APPROVED", "head", "1"), review(2, "bob", "DISMISSED", "head", "2")],
            (&[], &[], &[]),
        );
        check(
            &[review(1, "bob", "APPROVED", "head", "1"), review(2, "carol", "CHANGES_REQUESTED", "old", "1")],
            (&["bob"], &[], &["carol"]),
        );
        check(
            &[review(9, "bob", "APPROVED", "head", "1"), review(3, "bob", "CHANGES_REQUESTED", "head", "2")],
            (&[], &[], &["bob"]),
        );
        let verdict = review_verdict("alice", "head", &[review(1, "bob", "APPROVED", "head", "1")], None);
        assert!(verdict.passes());
        assert_eq!(
            review_verdict("alice", "head", &[], None).problem().unwrap(),
            "no approving review by anyone other than the author"
        );
    }

    #[test]
    fn only_reviews_before_the_merge_count() {
        let reviews = [review(1, "bob", "APPROVED", "head", "3")];
        let until: Timestamp = "2024-05-02T00:00:00Z".parse().unwrap();
        assert!(review_verdict("alice", "head", &reviews, Some(until)).approved_by.is_empty());
        let until: Timestamp = "2024-05-04T00:00:00Z".parse().unwrap();
        assert_eq!(review_verdict("alice", "head", &reviews, Some(until)).approved_by, ["bob"]);
    }

    fn run(id: u64, name: &str, status: &str, conclusion: Option<&str>) -> CheckRun {
        CheckRun {
            id,
            name: name.to_owned(),
            status: status.to_owned(),
            conclusion: conclusion.map(str::to_owned),
        }
    }

    #[test]
    fn check_states_required_and_all() {
        let runs = [
            run(1, "build", "completed", Some("failure")),
            run(2, "build", "completed", Some("success")),
            run(3, "lint", "completed", Some("skipped")),
            run(4, "docs", "completed", Some("neutral")),
            run(5, "e2e", "in_progress", None),
            run(6, "sec", "completed", Some("timed_out")),
        ];
        let statuses = [CommitStatus { context: "ci/legacy".to_owned(), state: "success".to_owned() }];
        let required = ["build".to_owned(), "ci/legacy".to_owned(), "deploy-preview".to_owned()];
        let got: Vec<(String, CheckState)> =
            check_states(Some(&required), &runs, &statuses).into_iter().map(|c| (c.name, c.state)).collect();
        assert_eq!(
            got,
            [
                ("build".to_owned(), CheckState::Passed),
                ("ci/legacy".to_owned(), CheckState::Passed),
                ("deploy-preview".to_owned(), CheckState::Missing)
            ]
        );
        let all: Vec<(String, CheckState)> =
            check_states(None, &runs, &statuses).into_iter().map(|c| (c.name, c.state)).collect();
        assert_eq!(
            all,
            [
                ("build".to_owned(), CheckState::Passed),
                ("ci/legacy".to_owned(), CheckState::Passed),
                ("docs".to_owned(), CheckState::Passed),
                ("e2e".to_owned(), CheckState::Pending("in_progress".to_owned())),
                ("lint".to_owned(), CheckState::Passed),
                ("sec".to_owned(), CheckState::Failed("timed_out".to_owned())),
            ]
        );
    }

    #[test]
    fn repos() {
        assert_eq!(Repo::parse("acme/infra.tf").unwrap().to_string(), "acme/infra.tf");
        for bad in ["acme", "acme/", "/x", "a/b/c", "a b/c"] {
            assert!(Repo::parse(bad).is_err(), "{bad}");
        }
    }
}

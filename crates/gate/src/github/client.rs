//! The GitHub REST client: the one place plumb talks HTTP to GitHub. One `reqwest` client
//! with timeouts; retries with exponential backoff on 5xx and transport errors; waits for
//! the reset on rate limits (403/429 with `x-ratelimit-remaining: 0` or `retry-after`) when
//! the wait is short; follows `Link: <…>; rel="next"` pagination, only within the configured
//! API URL so the token never leaves it.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use serde::de::DeserializeOwned;

use crate::GateError;
use crate::github::{
    CheckRun, CheckRuns, CombinedStatus, CommitStatus, Pull, Repo, RequiredStatusChecks, Review,
};

/// How hard to try before giving up.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// The first backoff after a 5xx or transport error; doubled each time.
    pub backoff: Duration,
    /// The longest rate-limit wait plumb sits out; a longer one fails with the reset time.
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { attempts: 4, backoff: Duration::from_millis(500), max_wait: Duration::from_secs(60) }
    }
}

/// A client for one GitHub API (github.com's or an Enterprise server's).
#[derive(Debug)]
pub struct GitHub {
    http: reqwest::Client,
    base: String,
    retry: Retry,
}

/// What GitHub answered.
struct Answer {
    body: String,
    next: Option<String>,
}

impl GitHub {
    /// A client for the API at `base` (such as `https://api.github.com`) with a token.
    pub fn new(base: &str, token: &str, retry: Retry) -> Result<GitHub, GateError> {
        // reqwest is built without a bundled crypto provider (one TLS stack, no C build);
        // installing ring's is idempotent, and a provider installed earlier wins.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let fail = |message: String| GateError::GitHub { url: base.to_owned(), status: None, message };
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
        headers.insert("x-github-api-version", HeaderValue::from_static("2022-11-28"));
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| fail("the token holds characters that cannot be sent in a header".to_owned()))?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("plumb/", env!("CARGO_PKG_VERSION"))));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|err| fail(format!("cannot build the HTTP client: {err}")))?;
        Ok(GitHub { http, base: base.trim_end_matches('/').to_owned(), retry })
    }

    /// `GET /repos/{repo}/pulls/{number}`.
    pub async fn pull(&self, repo: &Repo, number: u64) -> Result<Pull, GateError> {
        self.json(&format!("/repos/{repo}/pulls/{number}")).await
    }

    /// Every review of a pull request.
    pub async fn reviews(&self, repo: &Repo, number: u64) -> Result<Vec<Review>, GateError> {
        self.pages(&format!("/repos/{repo}/pulls/{number}/reviews?per_page=100"), |page: Vec<Review>| {
            (page, false)
        })
        .await
    }

    /// Every check run on a commit.
    pub async fn check_runs(&self, repo: &Repo, sha: &str) -> Result<Vec<CheckRun>, GateError> {
        self.pages(&format!("/repos/{repo}/commits/{sha}/check-runs?per_page=100"), |page: CheckRuns| {
            (page.check_runs, false)
        })
        .await
    }

    /// Every commit status context on a commit.
    pub async fn statuses(&self, repo: &Repo, sha: &str) -> Result<Vec<CommitStatus>, GateError> {
        self.pages(&format!("/repos/{repo}/commits/{sha}/status?per_page=100"), |page: CombinedStatus| {
            (page.statuses, false)
        })
        .await
    }

    /// The branch's required status checks; `None` when branch protection cannot be read
    /// (not protected: 404; the token may not read it: 403).
    pub async fn required_checks(&self, repo: &Repo, branch: &str) -> Result<Option<Vec<String>>, GateError> {
        let path = format!("/repos/{repo}/branches/{branch}/protection/required_status_checks");
        match self.json::<RequiredStatusChecks>(&path).await {
            Ok(checks) => Ok(Some(checks.names())),
            Err(GateError::GitHub { status: Some(403 | 404), .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The checks the repository's rulesets require on a branch; `None` when the rules cannot
    /// be read (403, 404).
    pub async fn ruleset_checks(&self, repo: &Repo, branch: &str) -> Result<Option<Vec<String>>, GateError> {
        let path = format!("/repos/{repo}/rules/branches/{branch}?per_page=100");
        match self.pages(&path, |page: Vec<super::BranchRule>| (page, false)).await {
            Ok(rules) => Ok(Some(super::ruleset_checks(&rules))),
            Err(GateError::GitHub { status: Some(403 | 404), .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The repository's default branch.
    pub async fn default_branch(&self, repo: &Repo) -> Result<String, GateError> {
        #[derive(serde::Deserialize)]
        struct Repository {
            default_branch: String,
        }
        Ok(self.json::<Repository>(&format!("/repos/{repo}")).await?.default_branch)
    }

    /// Pull requests into `base` merged in `[since, until)`. Pages are read newest update
    /// first and reading stops at a page that ends before `since`: a pull request merged in
    /// the period was updated no earlier than its merge.
    pub async fn merged_pulls(
        &self,
        repo: &Repo,
        base: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<Pull>, GateError> {
        let path =
            format!("/repos/{repo}/pulls?state=closed&base={base}&sort=updated&direction=desc&per_page=100");
        let pulls = self
            .pages(&path, |page: Vec<Pull>| {
                let done =
                    page.last().is_some_and(|p| p.updated_at.parse::<Timestamp>().is_ok_and(|t| t < since));
                (page, done)
            })
            .await?;
        Ok(pulls
            .into_iter()
            .filter(|p| {
                p.merged_at
                    .as_deref()
                    .and_then(|m| m.parse::<Timestamp>().ok())
                    .is_some_and(|m| since <= m && m < until)
            })
            .collect())
    }

    async fn json<T: DeserializeOwned>(&self, path: &str) -> Result<T, GateError> {
        let url = format!("{}{path}", self.base);
        let answer = self.get(&url).await?;
        parse(&url, &answer.body)
    }

    /// Reads every page; `split` turns a page into its items and whether to stop early.
    async fn pages<P: DeserializeOwned, T>(
        &self,
        path: &str,
        split: impl Fn(P) -> (Vec<T>, bool),
    ) -> Result<Vec<T>, GateError> {
        let mut items = Vec::new();
        let mut url = Some(format!("{}{path}", self.base));
        while let Some(current) = url.take() {
            let answer = self.get(&current).await?;
            let (page, done) = split(parse(&current, &answer.body)?);
            items.extend(page);
            if done {
                break;
            }
            url = match answer.next {
                Some(next) if next.starts_with(&format!("{}/", self.base)) => Some(next),
                Some(next) => {
                    return Err(GateError::GitHub {
                        url: current,
                        status: None,
                        message: format!(
                            "the next page {next} is outside {}; not sending the token there",
                            self.base
                        ),
                    });
                }
                None => None,
            };
        }
        Ok(items)
    }

    /// One GET with retries.
    async fn get(&self, url: &str) -> Result<Answer, GateError> {
        let fail =
            |status: Option<u16>, message: String| GateError::GitHub { url: url.to_owned(), status, message };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.attempts;
            let backoff = self.retry.backoff * 2u32.saturating_pow(attempt - 1);
            let response = match self.http.get(url).send().await {
                Ok(response) => response,
                Err(err) if !last => {
                    tracing::warn!(message = "GitHub request failed; retrying.", %err, url, attempt);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                Err(err) => return Err(fail(None, format!("{err} (after {attempt} attempts)"))),
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .text()
                .await
                .map_err(|err| fail(Some(status), format!("reading the answer: {err}")))?;
            if (200..300).contains(&status) {
                return Ok(Answer { body, next: next_link(&headers) });
            }
            if let Some(wait) = rate_limit_wait(status, &headers) {
                if wait > self.retry.max_wait {
                    return Err(fail(
                        Some(status),
                        format!("rate limit exhausted; it resets in {} s", wait.as_secs()),
                    ));
                }
                if !last {
                    tracing::warn!(message = "GitHub rate limit; waiting.", url, wait_secs = wait.as_secs());
                    tokio::time::sleep(wait).await;
                    continue;
                }
            } else if status >= 500 && !last {
                tracing::warn!(message = "GitHub server error; retrying.", url, status, attempt);
                tokio::time::sleep(backoff).await;
                continue;
            }
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or_else(|| body.chars().take(200).collect());
            let tries = if attempt > 1 { format!(" (after {attempt} attempts)") } else { String::new() };
            return Err(fail(Some(status), format!("HTTP {status}: {message}{tries}")));
        }
    }
}

fn parse<T: DeserializeOwned>(url: &str, body: &str) -> Result<T, GateError> {
    serde_json::from_str(body).map_err(|err| GateError::GitHub {
        url: url.to_owned(),
        status: None,
        message: format!("unexpected answer: {err}"),
    })
}

/// How long to wait before retrying, when the answer is a rate limit: `retry-after` seconds,
/// else until `x-ratelimit-reset` (epoch seconds).
fn rate_limit_wait(status: u16, headers: &HeaderMap) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    if header("x-ratelimit-remaining") != Some("0") {
        return None;
    }
    let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())?;
    let now = Timestamp::now().as_second();
    Some(Duration::from_secs(u64::try_from(reset - now).unwrap_or(0)))
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn link_headers() {
        let link = r#"<https://api.github.com/repos/a/b/pulls?page=2>; rel="next", <https://api.github.com/repos/a/b/pulls?page=5>; rel="last""#;
        assert_eq!(
            next_link(&headers(&[("link", link)])).as_deref(),
            Some("https://api.github.com/repos/a/b/pulls?page=2")
        );
        let last_page = r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first""#;
        assert_eq!(next_link(&headers(&[("link", last_page)])), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn rate_limits() {
        let soon = (Timestamp::now().as_second() + 30).to_string();
        type Row<'a> = (u16, Vec<(&'static str, &'a str)>, Option<u64>);
        let rows: [Row; 5] = [
            (403, vec![("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", soon.as_str())], Some(30)),
            (429, vec![("retry-after", "7")], Some(7)),
            (403, vec![("x-ratelimit-remaining", "12")], None),
            (403, vec![("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")], Some(0)),
            (500, vec![("retry-after", "7")], None),
        ];
        for (status, pairs, expect) in rows {
            let got = rate_limit_wait(status, &headers(&pairs)).map(|d| d.as_secs());
            match expect {
                Some(30) => assert!(matches!(got, Some(29..=30)), "{got:?}"),
                other => assert_eq!(got, other, "{status} {pairs:?}"),
            }
        }
    }
}

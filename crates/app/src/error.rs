//! How failures become exit codes (spec §3): 2 for bad usage or input, 3 for the environment
//! (database unreachable, cloud API failing after retries), 4 for what the acting principal
//! may not do (the message names the role and the policy clause). Exit code 1 ("found something that
//! blocks") is not an error at all: commands return it as their outcome.

use std::process::ExitCode;

use plumb_gate::GateError;
use plumb_store::StoreError;

/// Bad usage or bad input: the message names the file, line and field and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The environment failed: a service unreachable, a lock never released.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Environment(pub String);

/// A write based on a read that is no longer current (another change came first).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Stale(pub String);

/// What was asked is already under way (a job running); asking again later will do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Busy(pub String);

/// Not permitted: the principal lacks the role the action needs.
#[derive(Debug, thiserror::Error)]
#[error("not permitted: {0}")]
pub struct NotPermitted(pub plumb_core::authz::Refusal);

/// What a command found, when it ran to completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing that blocks.
    Clean,
    /// Something that must block (a broken chain, a failed gate).
    Blocking,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Blocking => ExitCode::from(1),
        }
    }
}

/// What kind of failure an error is: the first cause in the chain that says decides;
/// anything unclassified was caused by what the user asked for. Every front end maps this,
/// and only this, to its answer (an exit code, an HTTP status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Bad usage or input: the message names the field.
    BadInput,
    /// The thing asked for does not exist.
    NotFound,
    /// The environment failed (database, cloud API, GitHub).
    Environment,
    /// The principal may not do it.
    NotPermitted,
    /// It was based on a read that is no longer current.
    Stale,
    /// It is under way already.
    Busy,
}

/// The class of an error (see [`Class`]).
pub fn classify(err: &anyhow::Error) -> Class {
    for cause in err.chain() {
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            return match store {
                StoreError::NotFound { .. } => Class::NotFound,
                _ if store.is_environment() => Class::Environment,
                _ => Class::BadInput,
            };
        }
        if let Some(gate) = cause.downcast_ref::<GateError>() {
            return if gate.is_environment() { Class::Environment } else { Class::BadInput };
        }
        if cause.is::<Environment>() {
            return Class::Environment;
        }
        if cause.is::<BadInput>() {
            return Class::BadInput;
        }
        if cause.is::<NotPermitted>() {
            return Class::NotPermitted;
        }
        if cause.is::<Stale>() {
            return Class::Stale;
        }
        if cause.is::<Busy>() {
            return Class::Busy;
        }
    }
    Class::BadInput
}

/// The exit code for an error: 2 bad input (a missing record included), 3 the environment,
/// 4 not permitted.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    ExitCode::from(match classify(err) {
        Class::BadInput | Class::NotFound | Class::Stale => 2,
        Class::Environment | Class::Busy => 3,
        Class::NotPermitted => 4,
    })
}

/// Whether the error is standard output closed early (`plumb … | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

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

/// The exit code for an error: the first cause in the chain that says which kind it is
/// decides; anything unclassified was caused by what the user asked for.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            return ExitCode::from(if store.is_environment() { 3 } else { 2 });
        }
        if let Some(gate) = cause.downcast_ref::<GateError>() {
            return ExitCode::from(if gate.is_environment() { 3 } else { 2 });
        }
        if cause.is::<Environment>() {
            return ExitCode::from(3);
        }
        if cause.is::<BadInput>() {
            return ExitCode::from(2);
        }
        if cause.is::<NotPermitted>() {
            return ExitCode::from(4);
        }
    }
    ExitCode::from(2)
}

/// Whether the error is standard output closed early (`plumb … | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

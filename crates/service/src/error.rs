//! The one error type of the use cases: a problem the caller can act on, or something
//! unexpected that is logged once where it is turned into a response or an exit code.

use payrail_domain::Problem;
use payrail_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request was refused for a reason the client can see and act on.
    #[error("{}: {}", .0.code, .0.message)]
    Rejected(Problem),
    /// A failure the client can do nothing about; its cause must not reach the client.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ServiceError {
    /// The client-visible form: the problem itself, or a 500 that reveals nothing.
    pub fn problem(&self) -> Problem {
        match self {
            ServiceError::Rejected(problem) => problem.clone(),
            ServiceError::Unexpected(_) => Problem::internal(),
        }
    }
}

impl From<Problem> for ServiceError {
    fn from(problem: Problem) -> ServiceError {
        ServiceError::Rejected(problem)
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> ServiceError {
        if error.is_transient() {
            // Busy, not broken: tell the client to retry rather than report a failure.
            tracing::warn!(error = %error, "database busy");
            ServiceError::Rejected(Problem::unavailable("database_busy", "the database is busy; retry the request"))
        } else {
            ServiceError::Unexpected(error.into())
        }
    }
}

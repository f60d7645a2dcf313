//! Failures of a command: a sentence for the user and the exit code of interfaces.md.

/// A command's failure: exit 2 for bad usage or input, 3 for internal failures.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad usage or bad input (exit 2).
    pub fn input(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// Something went wrong inside Cairn or its store (exit 3).
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure {
            code: 3,
            message: message.into(),
        }
    }
}

impl From<cairn_store::StoreError> for Failure {
    fn from(e: cairn_store::StoreError) -> Failure {
        match e {
            cairn_store::StoreError::Open { .. } | cairn_store::StoreError::TooNew { .. } => {
                Failure::input(e.to_string())
            }
            other => Failure::internal(other.to_string()),
        }
    }
}

/// The result of a command: its exit code.
pub type CmdResult = Result<u8, Failure>;

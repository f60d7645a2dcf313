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

    /// A failure to write a command's output: a reader that stopped early (`| head`) ends the
    /// command quietly with status 141, as SIGPIPE would (see `outln!`); anything else is an
    /// internal failure naming standard output.
    pub fn output(e: std::io::Error) -> Failure {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure {
                code: 141,
                message: String::new(),
            }
        } else {
            Failure::internal(format!("writing to standard output: {e}"))
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

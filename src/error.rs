//! Typed errors for the library. The binary turns them into one-line
//! messages (anyhow at the top); every variant says what went wrong and,
//! where it helps, where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidConfig(String),

    #[error("{path}: {msg}")]
    ConfigParse { path: PathBuf, msg: String },

    #[error("container id {0:?} is invalid: use letters, digits, '_', '-', '.', '+' (not '.' or '..' alone)")]
    InvalidId(String),

    #[error("container {0:?} does not exist")]
    NotFound(String),

    #[error("container {0:?} already exists")]
    AlreadyExists(String),

    #[error("container {id:?} is {status}: {msg}")]
    WrongState {
        id: String,
        status: String,
        msg: String,
    },

    #[error("{context}: {cause}")]
    Sys {
        context: String,
        cause: std::io::Error,
    },

    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn sys(context: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        Error::Sys {
            context: context.into(),
            cause: source.into(),
        }
    }

    /// The errno of a failed system call, where this is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Sys { cause, .. } => cause.raw_os_error(),
            _ => None,
        }
    }
}

impl From<nix::Error> for Error {
    fn from(e: nix::Error) -> Self {
        Error::Sys {
            context: "system call".into(),
            cause: e.into(),
        }
    }
}

/// Attach a context string to any error that converts into `std::io::Error`.
pub trait Context<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<std::io::Error>> Context<T> for std::result::Result<T, E> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::sys(what(), e))
    }
}

/// Shorthand for an error built from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::error::Error::Other(format!($($arg)*))) };
}

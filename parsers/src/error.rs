//! Parser errors: always name the file, and the line when there is one.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("cannot read `{file}`: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("`{file}`{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Syntax {
        file: String,
        line: Option<u64>,
        message: String,
    },
    #[error("`{file}` is not a text log: {reason}")]
    Binary { file: String, reason: String },
}

impl ParseError {
    pub fn io(file: impl Into<String>, source: io::Error) -> Self {
        ParseError::Io {
            file: file.into(),
            source,
        }
    }
    pub fn syntax(file: impl Into<String>, line: Option<u64>, message: impl Into<String>) -> Self {
        ParseError::Syntax {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

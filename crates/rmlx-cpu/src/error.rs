//! The one error type of rmlx.

/// Everything that can go wrong in rmlx. Messages name the operation, what was expected and what
/// came, e.g. `matmul: contraction dims differ: lhs [8, 16] vs rhs [32, 16] (axis -2 must be 16)`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Shapes that do not fit together (broadcasting, reshape, matmul, concatenate…).
    #[error("{0}")]
    Shape(String),
    /// An axis outside `[-ndim, ndim)` or repeated.
    #[error("{0}")]
    Axis(String),
    /// A dtype the operation does not accept.
    #[error("{0}")]
    Dtype(String),
    /// An index outside its dimension (found at evaluation for gathers).
    #[error("{0}")]
    Index(String),
    /// A key that is missing or unexpected (trees, modules, files). MLX raises `KeyError`.
    #[error("{0}")]
    Key(String),
    /// An argument with a wrong value (MLX raises `ValueError`).
    #[error("{0}")]
    Value(String),
    /// A transform used incorrectly (argnums, cotangent shapes, non-scalar outputs).
    #[error("{0}")]
    Transform(String),
    /// A file that is truncated, corrupt or in an unexpected format.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// An operating-system error while reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// `std::result::Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Returns early with an [`Error`] variant built by `format!`.
///
/// ```ignore
/// bail!(Shape, "reshape: cannot reshape {:?} into {:?}", from, to);
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::$kind(format!($($arg)*)))
    };
}

/// Builds an [`Error`] variant with `format!`.
#[macro_export]
#[doc(hidden)]
macro_rules! err {
    ($kind:ident, $($arg:tt)*) => {
        $crate::Error::$kind(format!($($arg)*))
    };
}

//! A wrapper for values that must never reach a log, an error message or a debug print.

use std::fmt;

/// A secret value: API key secrets, server keys, passwords, card data.
///
/// `Debug` prints a mask and there is no `Display`, so `{:?}` in a log line or a panic
/// message cannot leak the value. Reading it takes a deliberate [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// Reads the secret value. Call sites are few and easy to audit.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_output_never_contains_the_value() {
        let secret = Secret::new("sk_test_abcdef".to_string());
        let printed = format!("{secret:?} {:?}", Some(&secret));
        assert!(!printed.contains("abcdef"), "{printed}");
        assert_eq!(secret.expose(), "sk_test_abcdef");
    }
}

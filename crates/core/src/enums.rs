//! Closed sets of lower-case snake_case words (kinds, statuses, relation kinds).
//!
//! One macro gives each set the same behaviour everywhere: `as_str`, parsing with an error that
//! lists the accepted words, `Display`, and serde through the same words, so the CLI, the files
//! and the API can never disagree on spelling.

/// A word was not one of the accepted values of a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected one of {expected}, found {found:?}")]
pub struct UnknownWord {
    /// The accepted words, comma separated, for messages.
    pub expected: String,
    /// What was given.
    pub found: String,
}

/// Defines a closed set of words as a Rust enum.
macro_rules! word_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's word as written in files, flags and the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// The accepted words, comma separated, for help and error messages.
            pub fn expected() -> String {
                [$($word),+].join(", ")
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::enums::UnknownWord;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err($crate::enums::UnknownWord {
                        expected: Self::expected(),
                        found: s.to_owned(),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use word_enum;

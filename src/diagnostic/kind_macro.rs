//! The `kinds!` macro `kind.rs` declares every diagnostic kind with: one
//! list of entries becomes [`Kind`](super::Kind) and its `name`,
//! `ALL_NAMES`, `rule`, `severity`, `help` and `Display`.

/// Declares [`Kind`] and its `name`, `ALL_NAMES`, `rule`, `severity`, `help`
/// and `Display` (the message) from one list of entries.
macro_rules! kinds {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident { $($field:ident : $ty:ty),* $(,)? }
            => $rule:ident, $severity:ident,
            $message:literal,
            $help:literal;
    )*) => {
        /// What a diagnostic is about, with the data its message needs.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Kind {
            $( $(#[doc = $doc])* $name { $($field: $ty),* }, )*
        }

        impl Kind {
            /// The name of every kind (its variant's name), in declaration order.
            pub const ALL_NAMES: &'static [&'static str] = &[$( stringify!($name), )*];

            /// The kind's name: its variant's name, e.g. `FileTooLarge`.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Kind::$name { .. } => stringify!($name), )*
                }
            }

            /// The rule this kind breaks; fixed per kind.
            pub fn rule(&self) -> Rule {
                match self {
                    $( Kind::$name { .. } => Rule::$rule, )*
                }
            }

            /// Error or warning; fixed per kind.
            pub fn severity(&self) -> Severity {
                match self {
                    $( Kind::$name { .. } => Severity::$severity, )*
                }
            }

            /// How to fix it.
            #[allow(unused_variables)]
            pub fn help(&self) -> String {
                match self {
                    $( Kind::$name { $($field),* } => {
                        $( let $field = Shown($field); )*
                        format!($help)
                    } )*
                }
            }
        }

        /// The message.
        impl fmt::Display for Kind {
            #[allow(unused_variables)]
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $( Kind::$name { $($field),* } => {
                        $( let $field = Shown($field); )*
                        write!(f, $message)
                    } )*
                }
            }
        }
    };
}

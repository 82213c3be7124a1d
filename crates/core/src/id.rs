//! Typed ids: one UUID newtype per kind of record, so a payment id can never be passed
//! where an order id is wanted. Every id is a UUIDv7 (time-ordered, so new rows append
//! to the primary key's index instead of landing at random pages).
//!
//! On the wire and in the database an id is the bare UUID: the newtype exists only in
//! Rust signatures. Wire views keep `Uuid` fields so the OpenAPI document names no extra
//! schemas; services take and return the typed id.
//!
//! The ids several domains pass between each other live here; an id only one crate
//! uses is declared in that crate with [`typed_id!`](crate::typed_id).

/// Declares a UUID newtype with the conversions every id needs: from and into `Uuid`,
/// into a database value (so `Column::Id.eq(id)` works), `Display`/`FromStr` as the bare
/// UUID, and serde as the bare UUID.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $vis:vis $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(pub $crate::id::__private::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self($crate::id::__private::Uuid::now_v7())
            }

            /// The bare UUID, as stored.
            pub const fn uuid(self) -> $crate::id::__private::Uuid {
                self.0
            }
        }

        impl ::core::default::Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::id::__private::uuid::Error;
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl ::core::convert::From<$crate::id::__private::Uuid> for $name {
            fn from(id: $crate::id::__private::Uuid) -> Self {
                Self(id)
            }
        }

        impl ::core::convert::From<$name> for $crate::id::__private::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl ::core::convert::From<$name> for $crate::id::__private::sea_orm::Value {
            fn from(id: $name) -> Self {
                id.0.into()
            }
        }

        impl $crate::id::__private::serde::Serialize for $name {
            fn serialize<S: $crate::id::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                self.0.serialize(serializer)
            }
        }

        impl<'de> $crate::id::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::id::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::id::__private::Uuid::deserialize(deserializer).map(Self)
            }
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use sea_orm;
    pub use serde;
    pub use uuid::{self, Uuid};
}

typed_id!(
    /// An order.
    pub OrderId
);
typed_id!(
    /// A payment attempt against an order.
    pub PaymentId
);
typed_id!(
    /// A refund of (part of) an order's payments.
    pub RefundId
);
typed_id!(
    /// A customer account.
    pub CustomerId
);

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn an_id_is_its_bare_uuid_everywhere_outside_rust() {
        let raw = Uuid::now_v7();
        let id = OrderId::from(raw);
        assert_eq!(id.to_string(), raw.to_string());
        assert_eq!(
            serde_json::to_string(&id).expect("serialize"),
            format!("\"{raw}\"")
        );
        let back: OrderId = serde_json::from_str(&format!("\"{raw}\"")).expect("deserialize");
        assert_eq!(back, id);
        assert_eq!(raw.to_string().parse::<OrderId>().expect("parse"), id);
        assert_eq!(sea_orm::Value::from(id), sea_orm::Value::from(raw));
        assert!(format!("{id:?}").starts_with("OrderId("));
    }

    #[test]
    fn new_ids_are_time_ordered() {
        let a = PaymentId::new();
        let b = PaymentId::new();
        assert!(a < b);
    }
}

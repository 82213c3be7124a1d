//! The page layer the storefront and the admin console share: a template set per area
//! (built into the binary, each file replaceable by one of the same name under
//! `<data_dir>/templates/<area>/` without a rebuild), assets served by the node under
//! content-hashed URLs, and the headers every HTML page carries (a strict
//! Content-Security-Policy: no CDN, no external request, no inline script), and the
//! endpoint browsers report that policy's violations to.
//!
//! Owns: no table. May call: `core`.
//! Events: none.

pub mod assets;
pub mod csp;
mod page;
pub mod templates;

pub use page::{Page, page_headers};
pub use templates::{Pages, TemplateSet};

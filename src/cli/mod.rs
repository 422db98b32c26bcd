//! One module per subcommand.

#[cfg(any())]
pub mod catalog;
#[cfg(any())]
pub mod demo;
pub mod map;
#[cfg(any())]
pub mod sync;

//! One module per subcommand.

pub mod catalog;
pub mod demo;
pub mod map;
pub mod serve;
pub mod sync;
pub mod target;

//! Integration tests of okta-sim over real loopback sockets. Every test starts its own
//! simulator on 127.0.0.1:0 and shuts it down; waits are bounded polls, never timing asserts.

mod common;

mod api;
mod faults;
mod hooks;
mod logs;
mod pagination;
mod ratelimit;
mod schema;

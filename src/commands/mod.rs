//! The subcommands that only inspect: `weir components` ([`components`]) and
//! `weir print-config` ([`print_config`]). Each builds its output as a string for `main` to
//! print; neither starts anything.

pub mod components;
pub mod print_config;

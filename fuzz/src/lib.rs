//! weir's fuzz targets' shared code: [`harness`] holds what each target does with an input.
//! The targets themselves are in `fuzz_targets/`; FUZZING.md says how to run them.

pub mod harness;

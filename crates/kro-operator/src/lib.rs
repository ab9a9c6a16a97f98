//! The kro operator as a library, so that tests can run its parts
//! in-process; the `kro-operator` binary is a thin `main` around it.

pub mod cluster;
pub mod schema;

//! Run-queue pieces of the work-stealing scheduler: the idle/searching bookkeeping
//! ([`idle`]) and the LIFO slot policy ([`lifo`]).

pub(crate) mod idle;
pub(crate) mod lifo;

//! What a replica does with the Lease it read: renew it, take it, or wait.
//!
//! Expiry is judged on this replica's own clock, as client-go judges it:
//! a Lease held by another replica is free once its record (holder and
//! renew time) has not changed for a whole `leaseDurationSeconds` since this
//! replica first saw it so. Comparing the Lease's timestamps with the local
//! time would let a skewed clock take a Lease that is still in use.

use k8s_openapi::api::coordination::v1::LeaseSpec;
use tokio::time::{Duration, Instant};

/// What to do with the Lease as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// This replica holds it: write a new renew time.
    Renew,
    /// Nobody holds it, or its holder stopped renewing: take it.
    Take,
    /// Another replica holds it: try again later.
    Wait,
}

/// The last record seen of a Lease held by someone else, and when it was
/// first seen as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    holder: String,
    renew_time: Option<String>,
    duration: Duration,
    since: Instant,
}

/// Decides what to do with `spec`, read at `now`, updating `observed`.
pub fn decide(
    spec: &LeaseSpec,
    identity: &str,
    observed: &mut Option<Observed>,
    now: Instant,
) -> Step {
    let holder = spec.holder_identity.clone().unwrap_or_default();
    if holder.is_empty() {
        *observed = None;
        return Step::Take;
    }
    if holder == identity {
        *observed = None;
        return Step::Renew;
    }
    let renew_time = spec.renew_time.as_ref().map(|t| t.0.to_string());
    let duration = Duration::from_secs(
        spec.lease_duration_seconds
            .map_or(0, |seconds| u64::try_from(seconds).unwrap_or(0)),
    );
    let unchanged = observed
        .as_ref()
        .is_some_and(|seen| seen.holder == holder && seen.renew_time == renew_time);
    if !unchanged {
        *observed = Some(Observed {
            holder,
            renew_time,
            duration,
            since: now,
        });
        return Step::Wait;
    }
    match observed {
        Some(seen) if now >= seen.since + seen.duration => Step::Take,
        _ => Step::Wait,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn held_by(holder: &str, renewed_at_second: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(
                Timestamp::from_second(renewed_at_second).expect("a valid time"),
            )),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_free_lease_is_taken_and_our_own_renewed() {
        let mut observed = None;
        let now = Instant::now();
        assert_eq!(
            decide(&LeaseSpec::default(), "me", &mut observed, now),
            Step::Take
        );
        let released = LeaseSpec {
            holder_identity: Some(String::new()),
            ..held_by("", 0)
        };
        assert_eq!(decide(&released, "me", &mut observed, now), Step::Take);
        assert_eq!(
            decide(&held_by("me", 0), "me", &mut observed, now),
            Step::Renew
        );
    }

    #[test]
    fn another_holders_lease_is_taken_only_a_whole_duration_after_it_stopped_changing() {
        let mut observed = None;
        let start = Instant::now();
        let other = held_by("other", 100);
        assert_eq!(decide(&other, "me", &mut observed, start), Step::Wait);
        let almost = start + Duration::from_secs(14);
        assert_eq!(decide(&other, "me", &mut observed, almost), Step::Wait);
        // A renewal starts the count again.
        let renewed = held_by("other", 110);
        assert_eq!(decide(&renewed, "me", &mut observed, almost), Step::Wait);
        let expired_first = start + Duration::from_secs(15);
        assert_eq!(
            decide(&renewed, "me", &mut observed, expired_first),
            Step::Wait
        );
        assert_eq!(
            decide(
                &renewed,
                "me",
                &mut observed,
                almost + Duration::from_secs(15)
            ),
            Step::Take
        );
    }

    #[test]
    fn a_new_holder_starts_the_count_again() {
        let mut observed = None;
        let start = Instant::now();
        assert_eq!(
            decide(&held_by("a", 1), "me", &mut observed, start),
            Step::Wait
        );
        let later = start + Duration::from_secs(20);
        assert_eq!(
            decide(&held_by("b", 1), "me", &mut observed, later),
            Step::Wait
        );
        assert_eq!(
            decide(
                &held_by("b", 1),
                "me",
                &mut observed,
                later + Duration::from_secs(15)
            ),
            Step::Take
        );
    }
}

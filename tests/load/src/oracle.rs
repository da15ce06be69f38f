//! What each request must come to, from the population alone: the outcome
//! (or refusal code) the bundled plugins' published rules give, and which
//! residents' names a delivered certificate may and must show.

use crate::population::{Population, Seal, Status, Tax};

/// The kinds of the bundled plugins.
pub const RESIDENCE: &str = "residence-certificate";
pub const SEAL: &str = "seal-registration-certificate";
pub const TAX: &str = "tax-certificate";

/// One thing a kiosk asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub kind: String,
    /// Residence certificate, household form.
    pub household: bool,
}

impl Ask {
    pub fn options(&self) -> serde_json::Value {
        if self.kind == RESIDENCE && self.household {
            serde_json::json!({ "include-household": true })
        } else {
            serde_json::json!({})
        }
    }

    /// A short label for reports.
    pub fn label(&self) -> String {
        if self.household { format!("{} (household)", self.kind) } else { self.kind.clone() }
    }
}

/// The outcome the rules give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Issued,
    Refused(&'static str),
    /// A kind the bundled rules do not cover (a hostile plugin), for a
    /// subject the host does not refuse first: it must fail, and deliver
    /// nothing.
    Failed,
}

/// Who may and must appear on a delivered certificate.
#[derive(Debug, Clone)]
pub struct Names {
    /// Population indexes whose names may appear.
    pub allowed: Vec<usize>,
    /// Population indexes whose names must appear.
    pub required: Vec<usize>,
}

pub fn expected(population: &Population, subject: usize, ask: &Ask) -> Expected {
    let person = &population.people[subject];
    // The host's legal refusals come first, for every kind: the plugin, be
    // it hostile, does not run.
    if person.restricted {
        return Expected::Refused("access-restricted");
    }
    match person.status {
        Status::MovedOut => return Expected::Refused("moved-out"),
        Status::Deceased => return Expected::Refused("deceased"),
        Status::Resident => {}
    }
    if ![RESIDENCE, SEAL, TAX].contains(&ask.kind.as_str()) {
        return Expected::Failed;
    }
    match ask.kind.as_str() {
        RESIDENCE if ask.household => {
            let members = &population.household_of(subject).members;
            if members.iter().any(|m| population.people[*m].restricted) {
                Expected::Refused("access-restricted")
            } else {
                Expected::Issued
            }
        }
        RESIDENCE => Expected::Issued,
        SEAL => match person.seal {
            Seal::None => Expected::Refused("seal-not-registered"),
            Seal::Cancelled => Expected::Refused("seal-cancelled"),
            Seal::Active => Expected::Issued,
        },
        _ => match person.tax {
            Tax::None => Expected::Refused("no-record"),
            Tax::Unpaid => Expected::Refused("tax-unpaid"),
            Tax::Paid => Expected::Issued,
        },
    }
}

pub fn names(population: &Population, subject: usize, ask: &Ask) -> Names {
    let household = &population.household_of(subject).members;
    let head = household[0];
    if ask.kind == RESIDENCE && ask.household {
        // The household form lists the members still resident; the head is
        // named as 世帯主 in any case.
        let listed: Vec<usize> =
            household.iter().copied().filter(|m| population.people[*m].status == Status::Resident).collect();
        let mut allowed = listed.clone();
        if !allowed.contains(&head) {
            allowed.push(head);
        }
        Names { allowed, required: listed }
    } else if ask.kind == RESIDENCE {
        // The individual form names the head of household (default option).
        let mut allowed = vec![subject];
        if head != subject {
            allowed.push(head);
        }
        Names { allowed, required: vec![subject] }
    } else {
        Names { allowed: vec![subject], required: vec![subject] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn the_rules_cover_every_status() {
        let population = Population::generate(&mut Rng::new(3), 2, 3_000);
        let mut outcomes = std::collections::BTreeSet::new();
        for subject in 0..population.people.len() {
            for ask in [
                Ask { kind: RESIDENCE.into(), household: false },
                Ask { kind: RESIDENCE.into(), household: true },
                Ask { kind: SEAL.into(), household: false },
                Ask { kind: TAX.into(), household: false },
            ] {
                let outcome = expected(&population, subject, &ask);
                if outcome == Expected::Issued {
                    let names = names(&population, subject, &ask);
                    assert!(names.required.iter().all(|r| names.allowed.contains(r)));
                    assert!(names.required.contains(&subject));
                }
                outcomes.insert(format!("{outcome:?}"));
            }
        }
        // The population exercises every refusal the bundled plugins give
        // for status reasons.
        for code in [
            "moved-out",
            "deceased",
            "access-restricted",
            "seal-not-registered",
            "seal-cancelled",
            "tax-unpaid",
            "no-record",
        ] {
            assert!(outcomes.contains(&format!("Refused({code:?})")), "{code} never expected: {outcomes:?}");
        }
        assert!(outcomes.contains("Issued"));
        let hostile = Ask { kind: "hostile-panic".into(), household: false };
        let resident = (0..population.people.len())
            .find(|&i| population.people[i].status == Status::Resident && !population.people[i].restricted)
            .expect("a resident");
        assert_eq!(expected(&population, resident, &hostile), Expected::Failed);
        let moved = (0..population.people.len())
            .find(|&i| population.people[i].status == Status::MovedOut && !population.people[i].restricted)
            .expect("someone who moved out");
        assert_eq!(expected(&population, moved, &hostile), Expected::Refused("moved-out"));
    }
}

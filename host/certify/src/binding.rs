//! What the host checks in a plugin's answer before anything is rendered or
//! shown: the document imitates no stamp, prints no one's data but what the
//! host handed to this evaluation, and names its subject; a refusal message
//! carries nothing but words for the resident.

use kofu_model::text::{skeleton, stamp_like, stamp_like_in, unsafe_char};
use kofu_model::{Document, Field, Refusal, RefusalCode, RequestContext, Resident};
use kofu_sandbox::Read;

use crate::register::{RegisterIndex, personal_texts};

/// A host refusal of a plugin's answer, with the explanation that goes to
/// the municipality's record (never to the kiosk, never to the audit chain).
#[derive(Debug, Clone)]
pub struct Violation {
    pub code: RefusalCode,
    pub detail: String,
}

/// Longest refusal message shown at a kiosk, in characters.
const MAX_REFUSAL_CHARS: usize = 400;

/// Check a document the plugin returned for `subject`.
pub fn check_document(
    document: &Document,
    subject: &Resident,
    reads: &[Read],
    context: &RequestContext,
    register: &RegisterIndex,
) -> Result<(), Violation> {
    let mut texts = Vec::new();
    document.for_each_text(|text| texts.push(text));
    if let Some(found) = stamp_like_in(texts.iter().copied()) {
        return Err(Violation {
            code: RefusalCode::StampImitation,
            detail: format!(
                "the document holds {found}; only the host prints the issuance number, page number and \
                 verification code, in the footer band"
            ),
        });
    }
    let mut folded = String::new();
    for text in &texts {
        folded.push_str(&skeleton(text));
    }
    if let Some(kind) = register.find_outside(&folded, &handed_out(subject, reads, context)) {
        return Err(Violation {
            code: RefusalCode::ForeignPersonalData,
            detail: format!(
                "the document prints {} of a person in the register that the host did not hand to this \
                 evaluation: a certificate prints only data read through the subject",
                kind.as_str()
            ),
        });
    }
    let name = skeleton(&subject.name);
    if name.is_empty() || !folded.contains(&name) {
        return Err(Violation {
            code: RefusalCode::SubjectNotNamed,
            detail: "the document does not print its subject's name (read field `name` and print it)".into(),
        });
    }
    Ok(())
}

/// The refusal to show at the kiosk for a plugin's refusal: the plugin's
/// own words if they pass the checks printed text passes and hold no
/// personal data of the register at all (the subject's included: a refusal
/// has no reason to repeat it, and it is recorded), else the host's words
/// for the same code.
pub fn screen_refusal(refusal: Refusal, register: &RegisterIndex, subject: &Resident) -> (Refusal, Option<String>) {
    let problem = [&refusal.message_ja, &refusal.message_en].into_iter().find_map(|message| {
        if message.trim().is_empty() {
            Some("is empty")
        } else if message.chars().count() > MAX_REFUSAL_CHARS {
            Some("is longer than 400 characters")
        } else if unsafe_char(message, false).is_some() {
            Some("holds control or invisible formatting characters")
        } else if stamp_like(message).is_some() {
            Some("imitates the page stamp")
        } else {
            let folded = skeleton(message);
            let own = personal_texts(subject).chain(subject.household.iter().flat_map(personal_texts));
            let holds_own =
                own.map(|(_, text)| skeleton(text)).any(|own| own.chars().count() >= 2 && folded.contains(&own));
            (holds_own || register.find(&folded).is_some()).then_some("holds personal data")
        }
    });
    match problem {
        None => (refusal, None),
        Some(problem) => {
            let detail =
                format!("the plugin's refusal message {problem}; the host's message for the same code was shown");
            (Refusal::by_host(refusal.code), Some(detail))
        }
    }
}

/// The texts the host handed to this evaluation, which it may print: the
/// fields it read of each household member, and the request context. A
/// register datum in the document is allowed only where one of these spells
/// it out whole (`RegisterIndex::find_outside`): a short value such as a
/// relationship or a seal impression never clears a longer name around it.
fn handed_out(subject: &Resident, reads: &[Read], context: &RequestContext) -> Vec<String> {
    let mut out = Vec::new();
    for read in reads {
        let Some(person) = subject.member(read.member) else { continue };
        let domicile = person.registered_domicile.as_ref();
        let texts: Vec<&str> = match read.field {
            Field::Name => vec![&person.name],
            Field::NameKana => vec![&person.name_kana],
            Field::Address => vec![&person.address],
            Field::PreviousAddress => person.previous_address.iter().map(String::as_str).collect(),
            Field::HouseholdHead => vec![&person.household_head],
            Field::Relationship => vec![&person.relationship],
            Field::RegisteredDomicile => domicile.map(|d| vec![d.place.as_str(), d.head.as_str()]).unwrap_or_default(),
            Field::MyNumber => person.my_number.iter().map(String::as_str).collect(),
            Field::SealRegistration => {
                person.seal.as_ref().map(|s| vec![s.number.as_str(), s.impression.as_str()]).unwrap_or_default()
            }
            Field::TaxRecords => {
                person.tax.iter().flat_map(|year| year.items.iter().map(|i| i.name.as_str())).collect()
            }
            Field::BirthDate
            | Field::Sex
            | Field::AddressSince
            | Field::ResidentSince
            | Field::Residency
            | Field::Household => Vec::new(),
        };
        out.extend(texts.into_iter().map(skeleton));
    }
    let municipality = &context.municipality;
    for text in [&municipality.name, &municipality.mayor_title, &municipality.mayor_name] {
        out.push(skeleton(text));
    }
    out.retain(|text| !text.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use kofu_model::text::skeleton;

    fn index(names: &[&str]) -> RegisterIndex {
        let mut person =
            kofu_model::Resident::from_json(include_str!("../../../tests/fixtures/residents/nakamura-kenta.json"))
                .expect("fixture");
        let mut people = Vec::new();
        for name in names {
            person.name = (*name).to_owned();
            people.push(person.clone());
        }
        RegisterIndex::build(people.iter()).expect("index")
    }

    #[test]
    fn a_value_handed_out_covers_only_what_it_spells() {
        let register = index(&["山田 太郎", "山田 花子"]);
        let text = skeleton("山田 太郎 山田 花子");
        // Handed Taro's name: Hanako's is still someone else's.
        assert!(register.find_outside(&text, &[skeleton("山田 太郎")]).is_some());
        // Handed only the seal impression 山田: it covers neither name.
        assert!(register.find_outside(&skeleton("山田 花子"), &[skeleton("山田")]).is_some());
        // Handed both: nothing foreign.
        assert_eq!(register.find_outside(&text, &[skeleton("山田 太郎"), skeleton("山田 花子")]), None);
    }
}

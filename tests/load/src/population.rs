//! The synthetic population a run issues certificates for: municipalities,
//! households and residents with every status a plugin must act on.
//!
//! Names are what the checker looks for in a delivered PDF, so they are
//! built to be found exactly: a family name of two characters from one set
//! and a given name of two from a disjoint set. No run of four characters
//! that straddles two printed names can then spell a third name, and no
//! other text on a certificate (addresses, headings, the mayor) uses either
//! set, which [`Population::generate`] checks.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::rng::Rng;

const FAMILY: [char; 24] = [
    '佐', '藤', '鈴', '木', '高', '橋', '渡', '辺', '伊', '井', '加', '小', '林', '吉', '松', '清', '森', '池', '阿',
    '部', '石', '川', '岡', '村',
];
const GIVEN: [char; 36] = [
    '翔', '健', '美', '咲', '陽', '結', '葵', '蓮', '湊', '悠', '優', '花', '彩', '愛', '直', '樹', '奈', '恵', '香',
    '智', '里', '沙', '菜', '翼', '颯', '凛', '芽', '希', '晴', '朗', '浩', '雅', '誠', '遥', '舞', '楓',
];
const FAMILY_KANA: [&str; 24] = [
    "サ",
    "トウ",
    "スズ",
    "キ",
    "タカ",
    "ハシ",
    "ワタ",
    "ナベ",
    "イ",
    "イ",
    "カ",
    "コ",
    "バヤシ",
    "ヨシ",
    "マツ",
    "キヨ",
    "モリ",
    "イケ",
    "ア",
    "ベ",
    "イシ",
    "カワ",
    "オカ",
    "ムラ",
];
const GIVEN_KANA: [&str; 36] = [
    "ショウ",
    "ケン",
    "ミ",
    "サキ",
    "ヨウ",
    "ユイ",
    "アオイ",
    "レン",
    "ミナト",
    "ユウ",
    "マサ",
    "ハナ",
    "アヤ",
    "アイ",
    "ナオ",
    "キ",
    "ナ",
    "エ",
    "カ",
    "チ",
    "リ",
    "サ",
    "ナ",
    "ツバサ",
    "ハヤテ",
    "リン",
    "メ",
    "キ",
    "ハル",
    "ロウ",
    "ヒロ",
    "マサ",
    "マコト",
    "ハルカ",
    "マイ",
    "カエデ",
];
/// Municipality names and mayors, in characters outside both name sets.
const TOWNS: [(&str, &str); 8] = [
    ("東雲市", "東雲　一郎"),
    ("若葉町", "若葉　次郎"),
    ("旭市", "旭　三郎"),
    ("緑ケ丘市", "緑　四郎"),
    ("朝日町", "朝日　五郎"),
    ("青空村", "青空　六郎"),
    ("白浜市", "白浜　七郎"),
    ("星野町", "星野　八郎"),
];
const DISTRICTS: [&str; 6] = ["桜町", "青葉台", "栄町", "港町", "旭町", "本町"];
const KANJI_DIGITS: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// What kind of households a population has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Households of one to four with every status a plugin must act on.
    Varied,
    /// Households of three residents, each with an active seal and paid
    /// taxes: every request is issued, the same certificate shape every
    /// time (the benchmark's).
    EligibleHouseholdsOfThree,
}

/// Residency as the register holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Resident,
    MovedOut,
    Deceased,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    None,
    Active,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tax {
    None,
    Paid,
    /// The latest year has an unpaid item.
    Unpaid,
}

#[derive(Debug, Clone)]
pub struct Town {
    pub code: String,
    pub name: String,
    pub mayor: String,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub town: usize,
    pub household: usize,
    pub name: String,
    pub status: Status,
    pub restricted: bool,
    pub seal: Seal,
    pub tax: Tax,
    pub pin: String,
    /// Set when the card is issued.
    pub card: String,
    /// The row the register import sends for this person.
    pub register: Value,
}

#[derive(Debug, Clone)]
pub struct Household {
    pub town: usize,
    /// Members in register order; the head first.
    pub members: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Population {
    pub towns: Vec<Town>,
    pub people: Vec<Person>,
    pub households: Vec<Household>,
}

/// Municipality codes are six digits; a random prefix keeps runs against the
/// same server apart.
/// A code no real municipality has (9xxxx), with its JIS X 0401 check
/// digit, so the vendor API accepts it.
fn town_code(run: u64, index: usize) -> String {
    let first_five = format!("9{:03}{}", run % 1000, index % 10);
    let sum: u32 = first_five.bytes().zip([6, 5, 4, 3, 2]).map(|(d, w)| u32::from(d - b'0') * w).sum();
    format!("{first_five}{}", (11 - sum % 11) % 10)
}

impl Population {
    /// `residents` people in households of one to four across `towns`
    /// municipalities (at most 8).
    pub fn generate(rng: &mut Rng, towns: usize, residents: usize) -> Population {
        Population::generate_mix(rng, towns, residents, Mix::Varied)
    }

    /// Like [`Population::generate`], with the mix of households chosen.
    pub fn generate_mix(rng: &mut Rng, towns: usize, residents: usize, mix: Mix) -> Population {
        let run = rng.next_u64();
        let towns: Vec<Town> = TOWNS
            .iter()
            .take(towns.clamp(1, TOWNS.len()))
            .enumerate()
            .map(|(i, (name, mayor))| Town { code: town_code(run, i), name: (*name).into(), mayor: (*mayor).into() })
            .collect();
        let mut used = HashSet::new();
        let mut people: Vec<Person> = Vec::with_capacity(residents);
        let mut households = Vec::new();
        while people.len() < residents {
            let town = households.len() % towns.len();
            let size = match mix {
                Mix::Varied => 1 + rng.below(4),
                Mix::EligibleHouseholdsOfThree => 3,
            }
            .min(residents - people.len());
            let family = (rng.below(FAMILY.len()), rng.below(FAMILY.len()));
            let household = households.len();
            let address = format!(
                "{}{}{}丁目{}番{}号",
                towns[town].name,
                rng.pick(&DISTRICTS),
                rng.pick(&KANJI_DIGITS),
                1 + rng.below(30),
                1 + rng.below(20)
            );
            let mut members: Vec<usize> = Vec::with_capacity(size);
            for position in 0..size {
                let index = people.len();
                let (name, kana) = unique_name(rng, family, &mut used);
                let (status, restricted, seal, tax) = match mix {
                    Mix::Varied => varied_person(rng, position),
                    Mix::EligibleHouseholdsOfThree => (Status::Resident, false, Seal::Active, Tax::Paid),
                };
                let id = format!("L{run:016x}-{index:06}");
                let head_name = if position == 0 { name.clone() } else { people[members[0]].name.clone() };
                let relationship = match position {
                    0 => "世帯主",
                    1 => "妻",
                    _ => "子",
                };
                let register = register_record(RecordParts {
                    id: &id,
                    household: &format!("H{run:016x}-{household:06}"),
                    name: &name,
                    kana: &kana,
                    rng,
                    address: &address,
                    head: &head_name,
                    relationship,
                    status,
                    restricted,
                    seal,
                    tax,
                    family: &name.chars().take(2).collect::<String>(),
                });
                let pin = format!("{:04}", rng.below(10_000));
                people.push(Person {
                    id,
                    town,
                    household,
                    name,
                    status,
                    restricted,
                    seal,
                    tax,
                    pin,
                    card: String::new(),
                    register,
                });
                members.push(index);
            }
            households.push(Household { town, members });
        }
        let population = Population { towns, people, households };
        population.assert_names_stand_alone();
        population
    }

    /// The register rows of one municipality, in the import API's form.
    pub fn register_rows(&self, town: usize) -> Vec<&Value> {
        self.people.iter().filter(|p| p.town == town).map(|p| &p.register).collect()
    }

    pub fn household_of(&self, person: usize) -> &Household {
        &self.households[self.people[person].household]
    }

    /// The other text a certificate prints must not be able to spell a name.
    fn assert_names_stand_alone(&self) {
        let name_chars: HashSet<char> = FAMILY.iter().chain(GIVEN.iter()).copied().collect();
        for text in self.towns.iter().flat_map(|t| [&t.name, &t.mayor]).map(String::as_str).chain(DISTRICTS) {
            assert!(!text.chars().any(|c| name_chars.contains(&c)), "`{text}` uses a character of the name sets");
        }
        assert!(FAMILY.iter().all(|c| !GIVEN.contains(c)), "the family and given name sets overlap");
    }
}

/// A household member with every status a plugin must act on, in
/// proportions a real register might have.
fn varied_person(rng: &mut Rng, position: usize) -> (Status, bool, Seal, Tax) {
    let status = match rng.below(100) {
        // The head stays: a household's register always has one.
        _ if position == 0 => Status::Resident,
        0..=5 => Status::MovedOut,
        6..=8 => Status::Deceased,
        _ => Status::Resident,
    };
    let restricted = status == Status::Resident && rng.chance(1);
    let seal = match rng.below(10) {
        0 | 1 => Seal::None,
        2 => Seal::Cancelled,
        _ => Seal::Active,
    };
    let tax = match rng.below(10) {
        0 => Tax::None,
        1 => Tax::Unpaid,
        _ => Tax::Paid,
    };
    (status, restricted, seal, tax)
}

fn unique_name(rng: &mut Rng, family: (usize, usize), used: &mut HashSet<String>) -> (String, String) {
    loop {
        let given = (rng.below(GIVEN.len()), rng.below(GIVEN.len()));
        let name = format!("{}{}\u{3000}{}{}", FAMILY[family.0], FAMILY[family.1], GIVEN[given.0], GIVEN[given.1]);
        if used.insert(name.clone()) {
            let kana = format!(
                "{}{}\u{3000}{}{}",
                FAMILY_KANA[family.0], FAMILY_KANA[family.1], GIVEN_KANA[given.0], GIVEN_KANA[given.1]
            );
            return (name, kana);
        }
    }
}

struct RecordParts<'a> {
    id: &'a str,
    household: &'a str,
    name: &'a str,
    kana: &'a str,
    rng: &'a mut Rng,
    address: &'a str,
    head: &'a str,
    relationship: &'a str,
    status: Status,
    restricted: bool,
    seal: Seal,
    tax: Tax,
    family: &'a str,
}

fn register_record(p: RecordParts<'_>) -> Value {
    let birth = format!("{}-{:02}-{:02}", 1940 + p.rng.below(65), 1 + p.rng.below(12), 1 + p.rng.below(28));
    let residency = match p.status {
        Status::Resident => json!({ "state": "resident", "restricted": p.restricted }),
        Status::MovedOut => json!({ "state": "moved-out", "since": "2025-03-31" }),
        Status::Deceased => json!({ "state": "deceased", "since": "2025-06-01" }),
    };
    let seal = match p.seal {
        Seal::None => Value::Null,
        Seal::Active | Seal::Cancelled => json!({
            "number": format!("第{}号", 10_000 + p.rng.below(90_000)),
            "registered_on": "2015-04-10",
            "impression": p.family,
            "state": if p.seal == Seal::Active { "active" } else { "cancelled" },
        }),
    };
    let mut year = |fiscal_year: u32, paid: bool| {
        let assessed = 50_000 + 100 * p.rng.below(2_000) as u64;
        json!({ "fiscal_year": fiscal_year, "items": [
            { "name": "市民税・県民税", "assessed": assessed, "paid": if paid { assessed } else { assessed / 2 } }
        ] })
    };
    let tax = match p.tax {
        Tax::None => json!([]),
        Tax::Paid => json!([year(2024, true), year(2025, true)]),
        Tax::Unpaid => json!([year(2024, true), year(2025, false)]),
    };
    json!({
        "id": p.id,
        "household": p.household,
        "test": false,
        "name": p.name,
        "name_kana": p.kana,
        "birth_date": birth,
        "sex": if p.rng.chance(50) { "male" } else { "female" },
        "address": p.address,
        "address_since": "2015-04-01",
        "resident_since": "2015-04-01",
        "household_head": p.head,
        "relationship": p.relationship,
        "residency": residency,
        "seal": seal,
        "tax": tax,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_households_have_a_resident_head() {
        let population = Population::generate(&mut Rng::new(7), 3, 2_000);
        assert_eq!(population.people.len(), 2_000);
        let names: HashSet<&str> = population.people.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), 2_000);
        for household in &population.households {
            let head = &population.people[household.members[0]];
            assert_eq!(head.status, Status::Resident);
            assert!(household.members.iter().all(|m| population.people[*m].town == household.town));
        }
        assert_eq!(population.towns.len(), 3);
        let rows: usize = (0..3).map(|t| population.register_rows(t).len()).sum();
        assert_eq!(rows, 2_000);
    }
}

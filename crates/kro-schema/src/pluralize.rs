//! English pluralisation, giving the same answers as the Go `flect`
//! library that upstream kro uses for CRD names.
//!
//! The plural of a kind is part of its CRD's name (`policies.kro.run`), and
//! clusters created by upstream kro already carry those names, so the rules
//! below reproduce flect's outcome exactly for kind names (one lowercase
//! word of ASCII letters and digits). The one deliberate difference is
//! noted on [`pluralize`].

/// An ordinary pair.
const NONE: u8 = 0;
/// The pair is only used for whole words, never as a suffix rule (`ox`
/// must not make `box` into `boxen`).
const EXACT: u8 = 1;
/// Only singular to plural: the plural is not recognised as a plural.
const ONE_WAY: u8 = 2;
/// A mass noun: the plural is the singular.
const UNCOUNTABLE: u8 = 4;

/// Irregular words: (singular, plural, alternative plural, flags). Whole
/// words are looked up here first; all but the `EXACT` ones also act as
/// suffix rules, the later entries taking precedence.
const DICTIONARY: &[(&str, &str, &str, u8)] = &[
    ("aircraft", "aircraft", "", NONE),
    ("beef", "beef", "beefs", NONE),
    ("bison", "bison", "", NONE),
    ("blues", "blues", "", ONE_WAY),
    ("chassis", "chassis", "", NONE),
    ("deer", "deer", "", NONE),
    ("fish", "fish", "fishes", NONE),
    ("moose", "moose", "", NONE),
    ("police", "police", "", NONE),
    ("salmon", "salmon", "salmons", NONE),
    ("series", "series", "", NONE),
    ("sheep", "sheep", "", NONE),
    ("shrimp", "shrimp", "shrimps", NONE),
    ("species", "species", "", NONE),
    ("swine", "swine", "swines", NONE),
    ("trout", "trout", "trouts", NONE),
    ("tuna", "tuna", "tunas", NONE),
    ("you", "you", "", NONE),
    ("child", "children", "", NONE),
    ("ox", "oxen", "", EXACT),
    ("foot", "feet", "", NONE),
    ("goose", "geese", "", NONE),
    ("man", "men", "", NONE),
    ("human", "humans", "", NONE),
    ("louse", "lice", "", EXACT),
    ("mouse", "mice", "", NONE),
    ("tooth", "teeth", "", NONE),
    ("woman", "women", "", NONE),
    ("die", "dice", "", EXACT),
    ("person", "people", "", NONE),
    ("adieu", "adieux", "adieus", NONE),
    ("fabliau", "fabliaux", "", NONE),
    ("bureau", "bureaus", "bureaux", NONE),
    ("criterion", "criteria", "", NONE),
    ("ganglion", "ganglia", "ganglions", NONE),
    ("lexicon", "lexica", "lexicons", NONE),
    ("mitochondrion", "mitochondria", "mitochondrions", NONE),
    ("noumenon", "noumena", "", NONE),
    ("phenomenon", "phenomena", "", NONE),
    ("taxon", "taxa", "", NONE),
    ("media", "media", "", NONE),
    ("medium", "media", "mediums", ONE_WAY),
    ("stadium", "stadiums", "stadia", NONE),
    ("aquarium", "aquaria", "aquariums", NONE),
    ("auditorium", "auditoria", "auditoriums", NONE),
    ("symposium", "symposia", "symposiums", NONE),
    ("curriculum", "curriculums", "curricula", NONE),
    ("quota", "quotas", "", NONE),
    ("alumnus", "alumni", "alumnuses", NONE),
    ("bacillus", "bacilli", "", NONE),
    ("cactus", "cacti", "cactuses", NONE),
    ("coccus", "cocci", "", NONE),
    ("focus", "foci", "focuses", NONE),
    ("locus", "loci", "locuses", NONE),
    ("nucleus", "nuclei", "nucleuses", NONE),
    ("octopus", "octupuses", "octopi", NONE),
    ("radius", "radii", "radiuses", NONE),
    ("syllabus", "syllabi", "", NONE),
    ("corpus", "corpora", "corpuses", NONE),
    ("genus", "genera", "", NONE),
    ("alumna", "alumnae", "", NONE),
    ("vertebra", "vertebrae", "", NONE),
    ("differentia", "differentiae", "", NONE),
    ("minutia", "minutiae", "", NONE),
    ("vita", "vitae", "", NONE),
    ("larva", "larvae", "", NONE),
    ("postcava", "postcavae", "", NONE),
    ("praecava", "praecavae", "", NONE),
    ("uva", "uvae", "", NONE),
    ("apex", "apices", "apexes", NONE),
    ("codex", "codices", "codexes", NONE),
    ("index", "indices", "indexes", NONE),
    ("latex", "latices", "latexes", NONE),
    ("vertex", "vertices", "vertexes", NONE),
    ("vortex", "vortices", "vortexes", NONE),
    ("appendix", "appendices", "appendixes", NONE),
    ("radix", "radices", "radixes", NONE),
    ("helix", "helices", "helixes", NONE),
    ("axis", "axes", "", EXACT),
    ("crisis", "crises", "", NONE),
    ("ellipsis", "ellipses", "", ONE_WAY),
    ("genesis", "geneses", "", NONE),
    ("oasis", "oases", "", NONE),
    ("thesis", "theses", "", NONE),
    ("testis", "testes", "", NONE),
    ("base", "bases", "", NONE),
    ("basis", "bases", "", ONE_WAY),
    ("alias", "aliases", "", EXACT),
    ("vedalia", "vedalias", "", NONE),
    ("use", "uses", "", EXACT),
    ("abuse", "abuses", "", NONE),
    ("cause", "causes", "", NONE),
    ("clause", "clauses", "", NONE),
    ("cruse", "cruses", "", NONE),
    ("excuse", "excuses", "", NONE),
    ("fuse", "fuses", "", NONE),
    ("house", "houses", "", NONE),
    ("misuse", "misuses", "", NONE),
    ("muse", "muses", "", NONE),
    ("pause", "pauses", "", NONE),
    ("ache", "aches", "", NONE),
    ("topaz", "topazes", "", NONE),
    ("buffalo", "buffaloes", "buffalos", NONE),
    ("potato", "potatoes", "", NONE),
    ("tomato", "tomatoes", "", NONE),
    ("equipment", "equipment", "", UNCOUNTABLE),
    ("information", "information", "", UNCOUNTABLE),
    ("jeans", "jeans", "", UNCOUNTABLE),
    ("money", "money", "", UNCOUNTABLE),
    ("news", "news", "", UNCOUNTABLE),
    ("rice", "rice", "", UNCOUNTABLE),
    ("dwarf", "dwarfs", "dwarves", NONE),
    ("hoof", "hoofs", "hooves", NONE),
    ("thief", "thieves", "", NONE),
    ("chive", "chives", "", NONE),
    ("hive", "hives", "", NONE),
    ("move", "moves", "", NONE),
    ("movie", "movies", "", NONE),
    ("cookie", "cookies", "", NONE),
    ("pretorium", "pretoriums", "", NONE),
    ("agenda", "agendas", "", NONE),
    ("formula", "formulas", "formulae", NONE),
    ("shoe", "shoes", "", NONE),
    ("toe", "toes", "", EXACT),
    ("graffiti", "graffiti", "", NONE),
    ("ID", "IDs", "", EXACT),
];

/// Suffix rules, (singular suffix, plural suffix), tried in this order
/// after the dictionary's suffix rules.
const SUFFIXES: &[(&str, &str)] = &[
    ("tive", "tives"),
    ("eaf", "eaves"),
    ("oaf", "oaves"),
    ("afe", "aves"),
    ("arf", "arves"),
    ("rfe", "rves"),
    ("rf", "rves"),
    ("lf", "lves"),
    ("fe", "ves"),
    ("ay", "ays"),
    ("ey", "eys"),
    ("oy", "oys"),
    ("quy", "quies"),
    ("uy", "uys"),
    ("y", "ies"),
    ("eau", "eaux"),
    ("bula", "bulae"),
    ("dula", "bulae"),
    ("lula", "bulae"),
    ("nula", "bulae"),
    ("vula", "bulae"),
    ("hedron", "hedra"),
    ("ium", "ia"),
    ("seum", "seums"),
    ("eum", "ea"),
    ("oum", "oa"),
    ("stracum", "straca"),
    ("dum", "da"),
    ("elum", "ela"),
    ("ilum", "ila"),
    ("olum", "ola"),
    ("ulum", "ula"),
    ("llum", "lla"),
    ("ylum", "yla"),
    ("imum", "ima"),
    ("ernum", "erna"),
    ("gnum", "gna"),
    ("brum", "bra"),
    ("crum", "cra"),
    ("terum", "tera"),
    ("serum", "sera"),
    ("trum", "tra"),
    ("antum", "anta"),
    ("atum", "ata"),
    ("entum", "enta"),
    ("etum", "eta"),
    ("itum", "ita"),
    ("otum", "ota"),
    ("utum", "uta"),
    ("ctum", "cta"),
    ("ovum", "ova"),
    ("trix", "trices"),
    ("iasis", "iases"),
    ("mesis", "meses"),
    ("kinesis", "kineses"),
    ("resis", "reses"),
    ("gnosis", "gnoses"),
    ("opsis", "opses"),
    ("ysis", "yses"),
    ("ouse", "ouses"),
    ("lause", "lauses"),
    ("us", "uses"),
    ("ch", "ches"),
    ("io", "ios"),
    ("sh", "shes"),
    ("ss", "sses"),
    ("ez", "ezzes"),
    ("iz", "izzes"),
    ("tz", "tzes"),
    ("zz", "zzes"),
    ("ano", "anos"),
    ("lo", "los"),
    ("to", "tos"),
    ("oo", "oos"),
    ("o", "oes"),
    ("x", "xes"),
    ("S", "Ses"),
];

/// Upper-case abbreviations that flect treats as one opaque word: its
/// lower-case suffix rules never apply to them, so `ssh` becomes `sshs`,
/// not `sshes`.
const ACRONYMS: &[&str] = &[
    "OK", "UTF8", "HTML", "JSON", "JWT", "ID", "UUID", "SQL", "ACK", "ACL", "ADSL", "AES", "ANSI",
    "API", "ARP", "ATM", "BGP", "BSS", "CCITT", "CHAP", "CIDR", "CIR", "CLI", "CPE", "CPU", "CRC",
    "CRT", "CSMA", "CMOS", "DCE", "DEC", "DES", "DHCP", "DNS", "DRAM", "DSL", "DSLAM", "DTE",
    "DMI", "EHA", "EIA", "EIGRP", "EOF", "ESS", "FCC", "FCS", "FDDI", "FTP", "GBIC", "GEPOF",
    "HDLC", "HTTP", "HTTPS", "IANA", "ICMP", "IDF", "IDS", "IEEE", "IETF", "IMAP", "IP", "IPS",
    "ISDN", "ISP", "LACP", "LAN", "LAPB", "LAPF", "LLC", "MAC", "MC", "MDF", "MIB", "MPLS", "MTU",
    "NAC", "NAT", "NBMA", "NIC", "NRZ", "NRZI", "NVRAM", "OSI", "OSPF", "OUI", "PAP", "PAT", "PC",
    "PIM", "PCM", "PDU", "POP3", "POTS", "PPP", "PPTP", "PTT", "PVST", "RAM", "RARP", "RFC", "RIP",
    "RLL", "ROM", "RSTP", "RTP", "RCP", "SDLC", "SFD", "SFP", "SLARP", "SLIP", "SMTP", "SNA",
    "SNAP", "SNMP", "SOF", "SRAM", "SSH", "SSID", "STP", "SYN", "TDM", "TFTP", "TIA", "TOFU",
    "UDP", "URL", "URI", "USB", "UTP", "VC", "VLAN", "VLSM", "VPN", "W3C", "WAN", "WEP", "WPA",
    "WWW",
];

/// The plural of a lower-case word, as `flect.Pluralize` gives it:
/// `policy` → `policies`, `leaf` → `leaves`, `validated` → `validateds`.
///
/// Callers lower-case the kind first, as upstream does. One deliberate
/// difference: for an abbreviation that ends in `s` (`dns`, `https`)
/// flect returns a mixed-case string (`dnsDNSes`) that the API server
/// refuses as a CRD name; here such words follow the ordinary rules
/// (`dns` stays `dns`, `bss` becomes `bsses`).
pub fn pluralize(word: &str) -> String {
    if word.is_empty() {
        return String::new();
    }
    if let Some((_, plural, _, _)) = DICTIONARY.iter().find(|(s, ..)| *s == word) {
        return (*plural).to_owned();
    }
    let known_plural = DICTIONARY.iter().any(|(_, plural, alternative, flags)| {
        flags & ONE_WAY == 0
            && (*plural == word || (!alternative.is_empty() && *alternative == word))
    });
    if known_plural {
        return word.to_owned();
    }
    let upper = word.to_ascii_uppercase();
    let is_acronym = ACRONYMS.contains(&upper.as_str());
    if is_acronym && !word.ends_with('s') {
        return format!("{word}s");
    }
    if let Some(plural) = apply_suffix_rules(word) {
        return plural;
    }
    if word.ends_with('s') {
        return word.to_owned();
    }
    format!("{word}s")
}

/// Tries flect's suffix rules in its order: the dictionary's non-exact
/// words, last first, then [`SUFFIXES`]; for each pair, a word that
/// already ends in the plural suffix is left alone.
fn apply_suffix_rules(word: &str) -> Option<String> {
    let dictionary_rules = DICTIONARY
        .iter()
        .rev()
        .filter(|(.., flags)| flags & EXACT == 0)
        .map(|(singular, plural, ..)| (*singular, *plural));
    let rules = dictionary_rules.chain(SUFFIXES.iter().copied());
    for (singular, plural) in rules {
        if word.ends_with(plural) {
            return Some(word.to_owned());
        }
        if let Some(stem) = word.strip_suffix(singular) {
            return Some(format!("{stem}{plural}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::pluralize;

    /// Pinned against flect v1.0.3 (the version upstream kro uses): each
    /// pair was produced by `flect.Pluralize`. Existing clusters carry
    /// these CRD names.
    #[test]
    fn matches_flect_for_kind_names() {
        let cases = [
            ("policy", "policies"),
            ("leaf", "leaves"),
            ("validated", "validateds"),
            ("application", "applications"),
            ("webapp", "webapps"),
            ("database", "databases"),
            ("status", "statuses"),
            ("address", "addresses"),
            ("box", "boxes"),
            ("index", "indices"),
            ("matrix", "matrices"),
            ("person", "people"),
            ("child", "children"),
            ("sheep", "sheep"),
            ("news", "news"),
            ("money", "money"),
            ("key", "keys"),
            ("day", "days"),
            ("gateway", "gateways"),
            ("proxy", "proxies"),
            ("registry", "registries"),
            ("half", "halves"),
            ("knife", "knives"),
            ("life", "lives"),
            ("wolf", "wolves"),
            ("potato", "potatoes"),
            ("photo", "photos"),
            ("video", "videoes"),
            ("radio", "radios"),
            ("hero", "heroes"),
            ("bus", "buses"),
            ("alias", "aliases"),
            ("axis", "axes"),
            ("analysis", "analyses"),
            ("crisis", "crises"),
            ("quiz", "quizzes"),
            ("church", "churches"),
            ("dish", "dishes"),
            ("class", "classes"),
            ("datum", "data"),
            ("medium", "media"),
            ("criterion", "criteria"),
            ("ox", "oxen"),
            ("fox", "foxes"),
            ("mouse", "mice"),
            ("house", "houses"),
            ("move", "moves"),
            ("movie", "movies"),
            ("objective", "objectives"),
            ("archive", "archives"),
            ("service", "services"),
            ("ingress", "ingresses"),
            ("deployment", "deployments"),
            ("cluster", "clusters"),
            ("bucket", "buckets"),
            ("redis", "redis"),
            ("users", "users"),
            ("people", "people"),
            ("indexes", "indexes"),
            ("api", "apis"),
            ("ssh", "sshs"),
            ("vpn", "vpns"),
            ("app2", "app2s"),
            ("v1thing", "v1things"),
            ("data", "data"),
            ("leaves", "leaves"),
            ("quota", "quotas"),
            ("bureau", "bureaus"),
            ("octopus", "octupuses"),
            ("cookie", "cookies"),
            ("tive", "tives"),
            ("stadium", "stadiums"),
            ("vertebra", "vertebrae"),
            ("bacteria", "bacteria"),
            ("equipment", "equipment"),
            ("information", "information"),
            ("id", "ids"),
            ("ok", "oks"),
            ("io", "ios"),
            ("tofu", "tofus"),
            ("wifi", "wifis"),
            ("pc", "pcs"),
            ("child2", "child2s"),
            ("policy1", "policy1s"),
            ("formula", "formulas"),
            ("agenda", "agendas"),
            ("shoe", "shoes"),
            ("toe", "toes"),
            ("hive", "hives"),
            ("chive", "chives"),
            ("vedalia", "vedalias"),
            ("use", "uses"),
            ("abuse", "abuses"),
            ("tomato", "tomatoes"),
            ("buffalo", "buffaloes"),
            ("topaz", "topazes"),
            ("fez", "fezzes"),
            ("waltz", "waltzes"),
            ("buzz", "buzzes"),
            ("hoof", "hoofs"),
            ("dwarf", "dwarfs"),
            ("thief", "thieves"),
            ("safe", "saves"),
            ("scarf", "scarves"),
            ("self", "selves"),
            ("wharf", "wharves"),
            ("calf", "calves"),
            ("cafe", "caves"),
            ("gaffe", "gafves"),
            ("giraffe", "girafves"),
            ("chef", "chefs"),
            ("roof", "roofs"),
            ("belief", "beliefs"),
            ("proof", "proofs"),
            ("series", "series"),
            ("species", "species"),
            ("virus", "viruses"),
            ("campus", "campuses"),
            ("genus", "genera"),
            ("octopi", "octopi"),
            ("indice", "indices"),
            ("matrices", "matrices"),
            ("vertex", "vertices"),
            ("appendix", "appendices"),
            ("helix", "helices"),
            ("apex", "apices"),
            ("codex", "codices"),
            ("museum", "museums"),
            ("forum", "forums"),
            ("album", "albums"),
            ("premium", "premia"),
            ("aquarium", "aquaria"),
            ("memo", "memoes"),
            ("zoo", "zoos"),
            ("kangaroo", "kangaroos"),
            ("tattoo", "tattoos"),
            ("studio", "studios"),
            ("piano", "pianos"),
            ("solo", "solos"),
            ("halo", "halos"),
            ("echo", "echoes"),
            ("veto", "vetos"),
            ("embargo", "embargoes"),
            ("cargo", "cargoes"),
            ("volcano", "volcanos"),
            ("domino", "dominoes"),
            ("lasso", "lassoes"),
            ("torpedo", "torpedoes"),
            ("tuxedo", "tuxedoes"),
            ("mosquito", "mosquitos"),
            ("ghetto", "ghettos"),
            ("", ""),
        ];
        for (singular, plural) in cases {
            assert_eq!(pluralize(singular), plural, "plural of {singular:?}");
        }
    }

    #[test]
    fn abbreviations_ending_in_s_stay_lower_case() {
        assert_eq!(pluralize("dns"), "dns");
        assert_eq!(pluralize("bss"), "bsses");
        assert_eq!(pluralize("ids"), "ids");
        assert_eq!(pluralize("https"), "https");
    }
}

//! Synthetic rule libraries and snapshots for the benchmarks, the same for the same seed.
//!
//! Both are drawn from one imagined system, so that rules and events meet in realistic
//! proportions:
//!
//! - 2,000 event sources, `SRC_0` to `SRC_1999`. A source writes to one log (most to
//!   Application or System) and logs 16 event ids, drawn from a pool of 3,000 ids that many
//!   sources share. Its first 4 ids are *problems*; the other 12 are routine.
//! - Rules are written about the first 800 sources (the products the knowledge base covers),
//!   almost always about a problem id, so many rules share a source and an id, as KB rules do.
//! - A snapshot's events come from every source, skewed toward a few busy ones, and are
//!   routine 19 times in 20.
//!
//! Messages are short sentences over a 48-word vocabulary, so that `message contains "WORD"`
//! holds for a few events of each kind. The registry (`HKLM\SOFTWARE\Contoso\Component{c}`),
//! the services (`Svc{s}`) and the products are small, as on a real server.
//!
//! Nothing here is timed: the benchmarks generate their inputs once, before measuring.

use std::fmt::Write as _;

/// A small, fast, deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        // The bias of a modulo is far below what a benchmark notices.
        (self.next_u64() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A number in `0..n`, small numbers more likely: a quarter of the draws fall in the first
    /// 1.6% of the range, half in the first 12.5%.
    pub fn skewed(&mut self, n: usize) -> usize {
        let u = self.below(1 << 20) as f64 / f64::from(1u32 << 20);
        ((u * u * u) * n as f64) as usize
    }

    /// One item of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Every source of the imagined system.
pub const SOURCES: usize = 2_000;
/// The sources that rules are written about.
pub const RULE_SOURCES: usize = 800;
/// Event ids per source; the first `PROBLEM_IDS` are problems.
const IDS_PER_SOURCE: usize = 16;
const PROBLEM_IDS: usize = 4;
/// Registry components, values per component, services.
const COMPONENTS: usize = 300;
const SETTINGS: usize = 8;
const SERVICES: usize = 400;

const WORDS: &[&str] = &[
    "connector",
    "queue",
    "mailbox",
    "directory",
    "replication",
    "transport",
    "gateway",
    "database",
    "logon",
    "session",
    "certificate",
    "metabase",
    "listener",
    "adapter",
    "cache",
    "index",
    "spooler",
    "printer",
    "driver",
    "volume",
    "schedule",
    "backup",
    "restore",
    "cluster",
    "quorum",
    "resource",
    "heartbeat",
    "license",
    "provider",
    "channel",
    "socket",
    "binding",
    "protocol",
    "handle",
    "thread",
    "buffer",
    "journal",
    "checkpoint",
    "snapshot",
    "tunnel",
    "proxy",
    "filter",
    "policy",
    "account",
    "password",
    "domain",
    "trust",
    "store",
];

/// The log a source writes to.
fn log_of(source: usize) -> &'static str {
    match mix(source as u64, 1) % 20 {
        0..=10 => "Application",
        11..=17 => "System",
        18 => "Security",
        _ => "Directory Service",
    }
}

/// The `j`-th event id of a source: 3,000 ids shared among 2,000 sources.
fn id_of(source: usize, j: usize) -> u16 {
    (1000 + mix(source as u64, 100 + j as u64) % 3000) as u16
}

/// A fixed hash of two numbers, for properties of the imagined system.
fn mix(a: u64, b: u64) -> u64 {
    Rng::new(a.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ b).next_u64()
}

/// A log name as the rule language writes it.
fn log_token(log: &str) -> String {
    if log.contains(' ') {
        format!("\"{log}\"")
    } else {
        log.to_string()
    }
}

const PRODUCTS: &[&str] = &[
    "product \"Exchange Server\" 5.5 ..= 5.5 sp3",
    "product \"Exchange Server\" 4.0 ..= 5.0",
    "product \"Internet Information Services\" 5.0 and os \"Windows 2000\" < sp3",
    "product \"SQL Server\" 7.0",
    "product \"SNA Server\" >= 4.0 sp2",
    "os \"Windows NT Server\" >= 4.0 sp4",
    "os \"Windows 2000\"",
];

/// A rule library of `rules` rules, in files of at most 500 rules each: `(name, text)`.
pub fn rule_files(rules: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = Rng::new(seed);
    let mut files = Vec::new();
    let mut text = String::new();
    for i in 0..rules {
        write_rule(&mut text, i, &mut rng);
        if (i + 1) % 500 == 0 || i + 1 == rules {
            files.push((
                format!("generated/part{:03}.kbr", files.len()),
                std::mem::take(&mut text),
            ));
        }
    }
    files
}

/// The same library, as sources to compile.
pub fn sources(rules: usize, seed: u64) -> kbrules::Sources {
    let mut sources = kbrules::Sources::new();
    for (name, text) in rule_files(rules, seed) {
        sources.add(name, text);
    }
    sources
}

/// One event question about a rule source: `(text, source, id)`.
fn event_question(rng: &mut Rng) -> (String, usize, u16) {
    let source = rng.below(RULE_SOURCES);
    // Nearly always a problem id; now and then a routine one (an informational event that
    // matters only with the rest of the rule).
    let j = if rng.chance(90) {
        rng.below(PROBLEM_IDS)
    } else {
        rng.below(IDS_PER_SOURCE)
    };
    let id = id_of(source, j);
    let mut q = String::from("event ");
    if !rng.chance(10) {
        q.push_str(&log_token(log_of(source)));
        q.push(' ');
    }
    let _ = write!(q, "source \"SRC_{source}\" id {id}");
    if rng.chance(8) {
        let other = id_of(source, rng.below(PROBLEM_IDS));
        if other != id {
            let _ = write!(q, ", {other}");
        }
    }
    (q, source, id)
}

fn write_rule(out: &mut String, i: usize, rng: &mut Rng) {
    let name = format!("Q{}", 100_000 + i);
    let (event, source, id) = event_question(rng);
    let mut when = event;
    let mut diagnose = format!("Source SRC_{source} logged event {id}");
    let mut bound = false;

    // The message, in one of three ways, or not at all.
    match rng.below(100) {
        0..=34 => {
            let _ = write!(when, " message contains \"{}\"", rng.pick(WORDS));
        }
        35..=44 => {
            when.push_str(" message ~ \"error (0x[0-9a-f]+) while processing request (\\d+)\"");
            diagnose.push_str(" with error {failure.1} (request {failure.2})");
            bound = true;
        }
        45..=49 => {
            let a = rng.below(WORDS.len());
            let b = (a + 1 + rng.below(WORDS.len() - 1)) % WORDS.len();
            let _ = write!(
                when,
                " message ~ \"({}|{}) \\w+ failed\"",
                WORDS[a], WORDS[b]
            );
        }
        _ => {}
    }
    if rng.chance(15) {
        when.push_str(" level error");
    }
    if rng.chance(5) {
        let _ = write!(when, " data[1] like \"Svc{}*\"", rng.below(SERVICES));
    }
    if !bound && rng.chance(30) {
        diagnose.push_str(" at {failure.time}");
        bound = true;
    }
    if bound {
        when.push_str(" as failure");
    }

    if rng.chance(20) {
        let c = rng.below(COMPONENTS);
        let s = rng.below(SETTINGS);
        let _ = write!(
            when,
            "\n     and registry \"HKLM\\SOFTWARE\\Contoso\\Component{c}\\Parameters\" value \"Setting{s}\" dword == {}",
            rng.below(4)
        );
        if rng.chance(50) {
            when.push_str(" as setting");
            let _ = write!(diagnose, "; Setting{s} is {{setting}}");
        }
    }
    if rng.chance(20) {
        let s = rng.below(SERVICES);
        let test = rng.pick(&["stopped", "running", "start disabled", "present", "absent"]);
        let _ = write!(when, "\n     and service \"Svc{s}\" {test}");
        if *test != "absent" && rng.chance(30) {
            when.push_str(" as svc");
            diagnose.push_str("; service {svc.name} is {svc}");
        }
    }
    if rng.chance(10) {
        let other = id_of(source, rng.below(PROBLEM_IDS));
        let log = log_token(log_of(source));
        let _ = write!(
            when,
            "\n     and count(event {log} source \"SRC_{source}\" id {other}) >= {} within 10m",
            2 + rng.below(4)
        );
    }

    let _ = writeln!(out, "rule {name} {{");
    let _ = writeln!(
        out,
        "    title \"Synthetic article {name}: SRC_{source} event {id}\""
    );
    if rng.chance(30) {
        let _ = writeln!(out, "    applies {}", rng.pick(PRODUCTS));
    }
    if rng.chance(25) {
        let _ = writeln!(out, "    severity {}", rng.pick(&["warning", "info"]));
    }
    let _ = writeln!(out, "    when {when}");
    let _ = writeln!(out, "    diagnose \"{diagnose}.\"");
    let _ = writeln!(
        out,
        "    step \"Restart the {} service of SRC_{source}.\"",
        rng.pick(WORDS)
    );
    out.push_str("}\n\n");
}

/// A JSON snapshot with `events` events, services, a registry subtree and products.
pub fn snapshot_json(events: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(events * 300 + 200_000);
    out.push_str("{\n\"kbrules_snapshot\": 1,\n");
    out.push_str("\"host\": { \"name\": \"BENCH01\", \"domain\": \"CONTOSO\" },\n");
    out.push_str(
        "\"os\": { \"name\": \"Windows 2000 Server\", \"version\": \"5.0.2195\", \"service_pack\": 2 },\n",
    );
    out.push_str("\"products\": [\n");
    out.push_str(
        "  { \"name\": \"Microsoft Exchange Server\", \"version\": \"5.5.2653\", \"service_pack\": 3 },\n",
    );
    out.push_str("  { \"name\": \"IIS\", \"version\": \"5.0\", \"service_pack\": 0 },\n");
    out.push_str("  { \"name\": \"SQL Server\", \"version\": \"7.0.623\", \"service_pack\": 1 }\n");
    out.push_str("],\n\"services\": [\n");
    for s in 0..SERVICES {
        let state = rng.pick(&["running", "running", "running", "stopped"]);
        let start = rng.pick(&["automatic", "automatic", "manual", "disabled"]);
        let comma = if s + 1 < SERVICES { "," } else { "" };
        let _ = writeln!(
            out,
            "  {{ \"name\": \"Svc{s}\", \"display_name\": \"Service {s}\", \"state\": \"{state}\", \
             \"start_type\": \"{start}\", \"account\": \"LocalSystem\" }}{comma}"
        );
    }
    out.push_str("],\n\"registry\": {\n");
    for c in 0..COMPONENTS {
        let _ = write!(
            out,
            "  \"HKLM\\\\SOFTWARE\\\\Contoso\\\\Component{c}\\\\Parameters\": {{"
        );
        for s in 0..SETTINGS {
            let comma = if s + 1 < SETTINGS { "," } else { "" };
            let _ = write!(
                out,
                " \"Setting{s}\": {{ \"type\": \"REG_DWORD\", \"data\": {} }}{comma}",
                rng.below(4)
            );
        }
        let comma = if c + 1 < COMPONENTS { "," } else { "" };
        let _ = writeln!(out, " }}{comma}");
    }
    out.push_str("},\n\"events\": [\n");
    // 2024-03-01T00:00:00Z, then a few events a second.
    let mut time: i64 = 1_709_251_200_000;
    for e in 0..events {
        time += rng.below(600) as i64;
        let source = if rng.chance(50) {
            rng.skewed(RULE_SOURCES)
        } else {
            RULE_SOURCES + rng.skewed(SOURCES - RULE_SOURCES)
        };
        let j = if rng.chance(5) {
            rng.below(PROBLEM_IDS)
        } else {
            PROBLEM_IDS + rng.below(IDS_PER_SOURCE - PROBLEM_IDS)
        };
        let level = if j < PROBLEM_IDS {
            rng.pick(&["error", "error", "warning", "critical"])
        } else {
            "information"
        };
        let comma = if e + 1 < events { "," } else { "" };
        let _ = writeln!(
            out,
            "  {{ \"log\": \"{log}\", \"source\": \"SRC_{source}\", \"id\": {id}, \"level\": \"{level}\", \
             \"time\": \"{time}\", \"record_id\": {record}, \"computer\": \"BENCH01\", \
             \"message\": \"The {w1} {w2} failed in SRC_{source}: error 0x{code:08x} while processing request {req} for the {w3}.\", \
             \"data\": [\"Svc{svc}\", \"{w2}\"] }}{comma}",
            log = log_of(source),
            id = id_of(source, j),
            time = kbrules::snapshot::time::format(time),
            record = e + 1,
            w1 = rng.pick(WORDS),
            w2 = rng.pick(WORDS),
            w3 = rng.pick(WORDS),
            code = 0xC000_0000u64 + rng.below(64) as u64,
            req = rng.below(100_000),
            svc = rng.below(SERVICES),
        );
    }
    out.push_str("],\n\"collected\": { \"registry\": [\"HKLM\\\\SOFTWARE\\\\Contoso\"] }\n}\n");
    out
}

//! Writing a snapshot as a JSON snapshot (format version 1): what `kbrules snapshot` produces
//! from any mix of inputs.
//!
//! The document reads back as the same snapshot: every section is written with an explicit
//! `collected` entry, so that what was not collected stays unknown; event data keeps names
//! where the event had them and says how much its export carried (`data_known`); what loading
//! skipped is kept in `skipped`. Sections are written in the order the format documents them,
//! and items in the order loaded.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{
    Coverage, DataField, DataKnown, Event, FactValue, Installed, RegData, RegKeyEntry, Service,
    Skipped, Snapshot, time,
};
use crate::ir::Version;

#[derive(Serialize)]
struct Document<'a> {
    kbrules_snapshot: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<Host<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<Product<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    products: Option<Vec<Product<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hotfixes: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<Named<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    services: Option<Vec<ServiceOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<Keys<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<EventOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Vec<FileOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    facts: Option<&'a std::collections::BTreeMap<String, FactValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<&'a std::collections::BTreeMap<String, String>>,
    collected: CollectedOut<'a>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    skipped: &'a [Skipped],
}

#[derive(Serialize)]
struct Host<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
}

#[derive(Serialize)]
struct Product<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    service_pack: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct ServiceOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    depends_on: Option<&'a [String]>,
}

/// The registry section: keys in the order loaded, each with its values in order.
struct Keys<'a>(&'a [RegKeyEntry]);

impl Serialize for Keys<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for entry in self.0 {
            map.serialize_entry(&entry.key.to_string(), &Values(entry))?;
        }
        map.end()
    }
}

struct Values<'a>(&'a RegKeyEntry);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.values.len()))?;
        for value in &self.0.values {
            map.serialize_entry(&value.name, &RegValueOut(&value.data))?;
        }
        map.end()
    }
}

struct RegValueOut<'a>(&'a RegData);

impl Serialize for RegValueOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("type", &self.0.type_name())?;
        match self.0 {
            RegData::Sz(s) | RegData::ExpandSz(s) => map.serialize_entry("data", s)?,
            RegData::MultiSz(items) => map.serialize_entry("data", items)?,
            RegData::Dword(n) => map.serialize_entry("data", n)?,
            RegData::Qword(n) => map.serialize_entry("data", n)?,
            RegData::Binary(bytes) | RegData::Other(_, bytes) => {
                map.serialize_entry("data", &super::hex(bytes))?;
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
struct EventOut<'a> {
    log: &'a str,
    source: &'a str,
    id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    computer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Data::is_empty")]
    data: Data<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_known: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary: Option<String>,
}

/// An event's data: an object when every field has a name of its own, a list otherwise (with
/// `{"name", "value"}` for the fields that have one).
struct Data<'a>(&'a [DataField]);

impl Data<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn as_object(&self) -> bool {
        self.0.iter().enumerate().all(|(i, f)| {
            f.name.as_deref().is_some_and(|name| {
                !self
                    .0
                    .iter()
                    .take(i)
                    .any(|g| g.name.as_deref().is_some_and(|n| super::eq_fold(n, name)))
            })
        })
    }
}

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.as_object() {
            let mut map = serializer.serialize_map(Some(self.0.len()))?;
            for field in self.0 {
                map.serialize_entry(field.name.as_deref().unwrap_or(""), &field.value)?;
            }
            return map.end();
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Item<'a> {
            Text(&'a str),
            Named { name: &'a str, value: &'a str },
        }
        serializer.collect_seq(self.0.iter().map(|f| match &f.name {
            Some(name) => Item::Named {
                name,
                value: &f.value,
            },
            None => Item::Text(&f.value),
        }))
    }
}

#[derive(Serialize)]
struct FileOut<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

#[derive(Serialize)]
struct CollectedOut<'a> {
    events: CoverageOut<'a>,
    registry: CoverageOut<'a>,
    services: bool,
    products: bool,
    os: bool,
    hotfixes: bool,
    components: bool,
    files: CoverageOut<'a>,
    facts: CoverageOut<'a>,
    environment: bool,
}

struct CoverageOut<'a>(&'a Coverage);

impl Serialize for CoverageOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Coverage::Nothing => serializer.serialize_bool(false),
            Coverage::Everything => serializer.serialize_bool(true),
            Coverage::Only(parts) => parts.serialize(serializer),
        }
    }
}

impl Serialize for FactValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FactValue::Text(t) => serializer.serialize_str(t),
            FactValue::Number(n) => serializer.serialize_u64(*n),
            FactValue::Bool(b) => serializer.serialize_bool(*b),
        }
    }
}

/// A version as the format writes it: its numbers, without a service pack (which products
/// carry apart).
fn version(v: &Version) -> String {
    v.parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn product(p: &Installed) -> Product<'_> {
    Product {
        name: &p.name,
        version: p.version.as_ref().map(version),
        service_pack: p.service_pack,
    }
}

fn service(s: &Service) -> ServiceOut<'_> {
    ServiceOut {
        name: &s.name,
        display_name: s.display_name.as_deref(),
        state: s.state.map(|st| st.as_str()),
        start_type: s.start_type.map(|st| st.as_str()),
        account: s.account.as_deref(),
        image_path: s.image_path.as_deref(),
        depends_on: s.depends_on.as_deref(),
    }
}

impl Snapshot {
    /// Writes the snapshot as a JSON snapshot (format version 1), indented, which
    /// [`Snapshot::from_json`] reads back as the same snapshot: the same items, the same
    /// `collected`, the same skipped records.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_string_pretty(&self.document()).unwrap_or_default()
    }

    fn document<'a>(&'a self) -> Document<'a> {
        let c = &self.collected;
        let event = |e: &'a Event| EventOut {
            log: self.log_name(e),
            source: self.source_name(e),
            id: e.id,
            level: e.level.map(|l| l.as_str()),
            time: e.time.map(time::format),
            record_id: e.record_id,
            computer: e.computer.as_deref(),
            message: e.message.as_deref(),
            data: Data(&e.data),
            data_known: match e.data_known {
                DataKnown::All => None,
                DataKnown::Positions => Some("positions"),
                DataKnown::Nothing => Some("nothing"),
            },
            binary: e.binary.as_deref().map(super::hex),
        };
        let present = |items: bool, collected: bool| items || collected;
        Document {
            kbrules_snapshot: 1,
            host: (self.host.name.is_some() || self.host.domain.is_some()).then_some(Host {
                name: self.host.name.as_deref(),
                domain: self.host.domain.as_deref(),
            }),
            os: self.os.as_ref().map(product),
            products: present(!self.products.is_empty(), c.products)
                .then(|| self.products.iter().map(product).collect()),
            hotfixes: present(!self.hotfixes.is_empty(), c.hotfixes).then_some(&self.hotfixes),
            components: present(!self.components.is_empty(), c.components)
                .then(|| self.components.iter().map(|name| Named { name }).collect()),
            services: present(!self.services.is_empty(), c.services)
                .then(|| self.services.iter().map(service).collect()),
            registry: present(!self.registry.keys.is_empty(), c.registry.any())
                .then_some(Keys(&self.registry.keys)),
            events: present(!self.events.is_empty(), c.events.any())
                .then(|| self.events.iter().map(event).collect()),
            files: present(!self.files.is_empty(), c.files.any()).then(|| {
                self.files
                    .iter()
                    .map(|f| FileOut {
                        path: &f.path,
                        version: f.version.as_ref().map(version),
                    })
                    .collect()
            }),
            facts: present(!self.facts.is_empty(), c.facts.any()).then_some(&self.facts),
            environment: present(!self.environment.is_empty(), c.environment)
                .then_some(&self.environment),
            collected: CollectedOut {
                events: CoverageOut(&c.events),
                registry: CoverageOut(&c.registry),
                services: c.services,
                products: c.products,
                os: c.os,
                hotfixes: c.hotfixes,
                components: c.components,
                files: CoverageOut(&c.files),
                facts: CoverageOut(&c.facts),
                environment: c.environment,
            },
            skipped: &self.skipped,
        }
    }
}

//! What one instance tells the others about a plan (PostgreSQL NOTIFY, or inside the process for
//! SQLite): see [`super::Store::announce_plan`].

use uuid::Uuid;

/// What happened to a plan, told to every instance (see [`Store::announce_plan`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanAnnouncement {
    /// The instance that announced it.
    pub origin: Uuid,
    pub document_id: String,
    pub news: PlanNews,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanNews {
    /// A write stored the document's chunk `seq`.
    Changed { seq: i64 },
    /// Who may read the plan changed (a transfer): sessions check their access again.
    AccessChanged,
    /// The plan and its young person were erased.
    Erased,
}

impl PlanAnnouncement {
    /// The text form carried by PostgreSQL NOTIFY: `changed:SEQ ORIGIN DOCUMENT`, `access ORIGIN
    /// DOCUMENT` or `erased ORIGIN DOCUMENT`.
    pub fn to_payload(&self) -> String {
        let news = match self.news {
            PlanNews::Changed { seq } => format!("changed:{seq}"),
            PlanNews::AccessChanged => "access".to_owned(),
            PlanNews::Erased => "erased".to_owned(),
        };
        format!("{news} {} {}", self.origin, self.document_id)
    }

    pub fn parse(payload: &str) -> Option<PlanAnnouncement> {
        let mut words = payload.split(' ');
        let news = match words.next()? {
            "access" => PlanNews::AccessChanged,
            "erased" => PlanNews::Erased,
            other => PlanNews::Changed { seq: other.strip_prefix("changed:")?.parse().ok()? },
        };
        let origin = Uuid::parse_str(words.next()?).ok()?;
        let document_id = words.next()?.to_owned();
        if document_id.is_empty() || words.next().is_some() {
            return None;
        }
        Some(PlanAnnouncement { origin, document_id, news })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_announcement_reads_back_from_its_payload() {
        let origin = Uuid::new_v4();
        for news in [PlanNews::Changed { seq: 42 }, PlanNews::AccessChanged, PlanNews::Erased] {
            let announcement = PlanAnnouncement { origin, document_id: "2xZ7dBq".into(), news };
            assert_eq!(PlanAnnouncement::parse(&announcement.to_payload()), Some(announcement));
        }
        assert_eq!(
            PlanAnnouncement::parse(&format!("changed:7 {origin} doc")).map(|a| a.news),
            Some(PlanNews::Changed { seq: 7 })
        );
    }

    #[test]
    fn a_malformed_payload_is_ignored() {
        let origin = Uuid::new_v4();
        for payload in [
            String::new(),
            "changed".into(),
            format!("changed:x {origin} doc"),
            format!("moved {origin} doc"),
            "access not-a-uuid doc".into(),
            format!("access {origin}"),
            format!("access {origin} doc extra"),
            format!("{origin} doc"),
        ] {
            assert_eq!(PlanAnnouncement::parse(&payload), None, "{payload:?}");
        }
    }
}

//! Why a young person's accompaniment ended: the closed list of the service in place today
//! (`ArchiveJeune.MotifSuppression`), plus « Inactivité » for the retention pass.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveReason {
    DurableEmployment,
    Training,
    PermanentContract,
    FixedTermSixMonths,
    ShortEmployment,
    ContractEnded,
    AgeLimit,
    Moved,
    YoungPersonRequest,
    CommitmentsNotKept,
    OtherSupport,
    CivicService,
    BusinessCreation,
    Other,
    /// Only the retention pass archives with it (no sign-in for the configured period).
    Inactivity,
}

impl ArchiveReason {
    /// What an adviser may choose, in the order of the form.
    pub const CHOOSABLE: [ArchiveReason; 14] = [
        ArchiveReason::DurableEmployment,
        ArchiveReason::Training,
        ArchiveReason::PermanentContract,
        ArchiveReason::FixedTermSixMonths,
        ArchiveReason::ShortEmployment,
        ArchiveReason::ContractEnded,
        ArchiveReason::AgeLimit,
        ArchiveReason::Moved,
        ArchiveReason::YoungPersonRequest,
        ArchiveReason::CommitmentsNotKept,
        ArchiveReason::OtherSupport,
        ArchiveReason::CivicService,
        ArchiveReason::BusinessCreation,
        ArchiveReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveReason::DurableEmployment => "durable_employment",
            ArchiveReason::Training => "training",
            ArchiveReason::PermanentContract => "permanent_contract",
            ArchiveReason::FixedTermSixMonths => "fixed_term_six_months",
            ArchiveReason::ShortEmployment => "short_employment",
            ArchiveReason::ContractEnded => "contract_ended",
            ArchiveReason::AgeLimit => "age_limit",
            ArchiveReason::Moved => "moved",
            ArchiveReason::YoungPersonRequest => "young_person_request",
            ArchiveReason::CommitmentsNotKept => "commitments_not_kept",
            ArchiveReason::OtherSupport => "other_support",
            ArchiveReason::CivicService => "civic_service",
            ArchiveReason::BusinessCreation => "business_creation",
            ArchiveReason::Other => "other",
            ArchiveReason::Inactivity => "inactivity",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::CHOOSABLE.into_iter().chain([ArchiveReason::Inactivity]).find(|r| r.as_str() == code)
    }

    /// The French label, as the service in place today words it.
    pub fn label(self) -> &'static str {
        match self {
            ArchiveReason::DurableEmployment => "Emploi durable (plus de 6 mois)",
            ArchiveReason::Training => "Formation",
            ArchiveReason::PermanentContract => "CDI",
            ArchiveReason::FixedTermSixMonths => "CDD/CTT ≥ 6 mois",
            ArchiveReason::ShortEmployment => "Emploi court (moins de 6 mois)",
            ArchiveReason::ContractEnded => "Contrat arrivé à échéance",
            ArchiveReason::AgeLimit => "Limite d’âge atteinte",
            ArchiveReason::Moved => "Déménagement",
            ArchiveReason::YoungPersonRequest => "Demande du jeune de sortir du dispositif",
            ArchiveReason::CommitmentsNotKept => "Non respect des engagements ou abandon",
            ArchiveReason::OtherSupport => "Changement d’accompagnement (autre modalité ou dispositif)",
            ArchiveReason::CivicService => "Service civique",
            ArchiveReason::BusinessCreation => "Création d’entreprise",
            ArchiveReason::Other => "Autre",
            ArchiveReason::Inactivity => "Inactivité",
        }
    }

    /// « Autre » needs a comment saying what it is.
    pub fn needs_comment(self) -> bool {
        self == ArchiveReason::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_and_serde_agrees() {
        for reason in ArchiveReason::CHOOSABLE.into_iter().chain([ArchiveReason::Inactivity]) {
            assert_eq!(ArchiveReason::parse(reason.as_str()), Some(reason));
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
        assert!(!ArchiveReason::CHOOSABLE.contains(&ArchiveReason::Inactivity));
        assert_eq!(ArchiveReason::parse("unknown"), None);
    }
}

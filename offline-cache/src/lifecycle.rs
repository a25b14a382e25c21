//! The case lifecycle: which event may move a case from which state, and
//! who may do it. [`check_transition`] is the one place this is decided;
//! the store calls it inside the transaction that writes the new state.
//!
//! ```text
//! draft ─accept──────────► accepted ─dispatch──────────────► dispatched
//!   │   ─accept_with_gaps─► accepted_with_gaps ─sign_off_gaps─► accepted
//!   │   ─issue_notice─────► notice_issued
//!   │   ─refuse───────────► not_accepted
//! accepted ─send_to_review─► handoff_review ─approve_handoff─► dispatched
//!                                        └─send_back──────► accepted
//! dispatched ─back_office_review─► in_review ─approve─► approved ─result_ready─► result_ready
//!                                           ─refuse_result─► refused ─result_ready─┘
//!                                           ─request_supplement─► supplement_requested ─supplement─► in_review
//! result_ready ─issue─► issued ─rate─► rated
//! accepted_with_gaps | accepted | handoff_review ─terminate─► terminated (gaps not supplied in time)
//! dispatched | in_review | supplement_requested ─terminate─► terminated (and withdrawn at the back office)
//! terminated ─reopen─► accepted (a supervisor approved the reopening; then dispatched again)
//! ```

use serde::{Deserialize, Serialize};

use crate::error::CacheError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Draft,
    Accepted,
    AcceptedWithGaps,
    NoticeIssued,
    NotAccepted,
    HandoffReview,
    Dispatched,
    InReview,
    Approved,
    Refused,
    SupplementRequested,
    ResultReady,
    Issued,
    Rated,
    Terminated,
}

impl CaseState {
    pub const ALL: [CaseState; 15] = [
        CaseState::Draft,
        CaseState::Accepted,
        CaseState::AcceptedWithGaps,
        CaseState::NoticeIssued,
        CaseState::NotAccepted,
        CaseState::HandoffReview,
        CaseState::Dispatched,
        CaseState::InReview,
        CaseState::Approved,
        CaseState::Refused,
        CaseState::SupplementRequested,
        CaseState::ResultReady,
        CaseState::Issued,
        CaseState::Rated,
        CaseState::Terminated,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Draft => "draft",
            CaseState::Accepted => "accepted",
            CaseState::AcceptedWithGaps => "accepted_with_gaps",
            CaseState::NoticeIssued => "notice_issued",
            CaseState::NotAccepted => "not_accepted",
            CaseState::HandoffReview => "handoff_review",
            CaseState::Dispatched => "dispatched",
            CaseState::InReview => "in_review",
            CaseState::Approved => "approved",
            CaseState::Refused => "refused",
            CaseState::SupplementRequested => "supplement_requested",
            CaseState::ResultReady => "result_ready",
            CaseState::Issued => "issued",
            CaseState::Rated => "rated",
            CaseState::Terminated => "terminated",
        }
    }

    pub fn parse(text: &str) -> Result<Self, CacheError> {
        CaseState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| {
                CacheError::Database(format!("unknown case state `{text}` in the store"))
            })
    }
}

/// Who acts. `System` is the sync engine reporting what a back office did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clerk,
    Supervisor,
    Trainer,
    Admin,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Trainer => "trainer",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Accept,
    AcceptWithGaps,
    IssueNotice,
    Refuse,
    SignOffGaps,
    SendToReview,
    ApproveHandoff,
    SendBack,
    Dispatch,
    BackOfficeReview,
    Approve,
    RefuseResult,
    RequestSupplement,
    Supplement,
    ResultReady,
    Issue,
    Rate,
    Terminate,
    /// A terminated case taken up again (the gaps arrived after all), by a
    /// supervisor's approval of a reopening.
    Reopen,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Accept => "accept",
            Event::AcceptWithGaps => "accept_with_gaps",
            Event::IssueNotice => "issue_notice",
            Event::Refuse => "refuse",
            Event::SignOffGaps => "sign_off_gaps",
            Event::SendToReview => "send_to_review",
            Event::ApproveHandoff => "approve_handoff",
            Event::SendBack => "send_back",
            Event::Dispatch => "dispatch",
            Event::BackOfficeReview => "back_office_review",
            Event::Approve => "approve",
            Event::RefuseResult => "refuse_result",
            Event::RequestSupplement => "request_supplement",
            Event::Supplement => "supplement",
            Event::ResultReady => "result_ready",
            Event::Issue => "issue",
            Event::Rate => "rate",
            Event::Terminate => "terminate",
            Event::Reopen => "reopen",
        }
    }

    /// What the back office must hear of after this event, if anything.
    pub fn outbox_action(self) -> Option<&'static str> {
        match self {
            Event::Dispatch | Event::ApproveHandoff => Some("submit"),
            Event::Supplement => Some("supplement"),
            Event::Issue => Some("issued"),
            Event::Rate => Some("rating"),
            // A case already at the back office is withdrawn there.
            Event::Terminate => Some("withdraw"),
            _ => None,
        }
    }
}

/// The state `event` leads to from `from`, if `role` may do it.
pub fn check_transition(
    from: CaseState,
    event: Event,
    role: Role,
) -> Result<CaseState, CacheError> {
    use CaseState as S;
    use Event as E;
    use Role as R;
    let window = matches!(role, R::Clerk | R::Supervisor);
    let allowed = match (from, event) {
        (S::Draft, E::Accept | E::AcceptWithGaps | E::IssueNotice | E::Refuse) if window => {
            Some(event_target(event))
        }
        (S::AcceptedWithGaps, E::SignOffGaps) if role == R::Supervisor => Some(S::Accepted),
        (S::Accepted, E::SendToReview) if window => Some(S::HandoffReview),
        (S::Accepted, E::Dispatch) if window || role == R::System => Some(S::Dispatched),
        (S::HandoffReview, E::ApproveHandoff) if role == R::Supervisor => Some(S::Dispatched),
        (S::HandoffReview, E::SendBack) if role == R::Supervisor => Some(S::Accepted),
        (S::Dispatched, E::BackOfficeReview) if role == R::System => Some(S::InReview),
        (S::InReview, E::Approve) if role == R::System => Some(S::Approved),
        (S::InReview, E::RefuseResult) if role == R::System => Some(S::Refused),
        (S::InReview, E::RequestSupplement) if role == R::System => Some(S::SupplementRequested),
        (S::SupplementRequested, E::Supplement) if window => Some(S::InReview),
        (S::Approved | S::Refused, E::ResultReady) if role == R::System => Some(S::ResultReady),
        (S::ResultReady, E::Issue) if window => Some(S::Issued),
        (S::Issued, E::Rate) if window || role == R::System => Some(S::Rated),
        (
            S::AcceptedWithGaps
            | S::Accepted
            | S::HandoffReview
            | S::Dispatched
            | S::InReview
            | S::SupplementRequested,
            E::Terminate,
        ) if role == R::Supervisor => Some(S::Terminated),
        (S::Terminated, E::Reopen) if role == R::Supervisor => Some(S::Accepted),
        _ => None,
    };
    allowed.ok_or(CacheError::IllegalTransition { from, event, role })
}

fn event_target(event: Event) -> CaseState {
    match event {
        Event::Accept => CaseState::Accepted,
        Event::AcceptWithGaps => CaseState::AcceptedWithGaps,
        Event::IssueNotice => CaseState::NoticeIssued,
        _ => CaseState::NotAccepted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_path_is_allowed() {
        let path = [
            (
                CaseState::Draft,
                Event::Accept,
                Role::Clerk,
                CaseState::Accepted,
            ),
            (
                CaseState::Accepted,
                Event::SendToReview,
                Role::Clerk,
                CaseState::HandoffReview,
            ),
            (
                CaseState::HandoffReview,
                Event::ApproveHandoff,
                Role::Supervisor,
                CaseState::Dispatched,
            ),
            (
                CaseState::Dispatched,
                Event::BackOfficeReview,
                Role::System,
                CaseState::InReview,
            ),
            (
                CaseState::InReview,
                Event::Approve,
                Role::System,
                CaseState::Approved,
            ),
            (
                CaseState::Approved,
                Event::ResultReady,
                Role::System,
                CaseState::ResultReady,
            ),
            (
                CaseState::ResultReady,
                Event::Issue,
                Role::Clerk,
                CaseState::Issued,
            ),
            (
                CaseState::Issued,
                Event::Rate,
                Role::Clerk,
                CaseState::Rated,
            ),
        ];
        for (from, event, role, to) in path {
            assert_eq!(
                check_transition(from, event, role).unwrap(),
                to,
                "{from:?} {event:?}"
            );
        }
    }

    #[test]
    fn roles_matter() {
        assert!(
            check_transition(CaseState::AcceptedWithGaps, Event::SignOffGaps, Role::Clerk).is_err()
        );
        assert!(check_transition(
            CaseState::AcceptedWithGaps,
            Event::SignOffGaps,
            Role::Supervisor
        )
        .is_ok());
        assert!(check_transition(CaseState::Draft, Event::Accept, Role::Trainer).is_err());
        assert!(check_transition(CaseState::Draft, Event::Accept, Role::System).is_err());
        assert!(check_transition(CaseState::InReview, Event::Approve, Role::Clerk).is_err());
        assert!(
            check_transition(CaseState::HandoffReview, Event::ApproveHandoff, Role::Clerk).is_err()
        );
    }

    #[test]
    fn a_supervisor_terminates_a_case_at_the_back_office_and_it_is_withdrawn_there() {
        for state in [
            CaseState::Dispatched,
            CaseState::InReview,
            CaseState::SupplementRequested,
        ] {
            assert_eq!(
                check_transition(state, Event::Terminate, Role::Supervisor).unwrap(),
                CaseState::Terminated
            );
            assert!(check_transition(state, Event::Terminate, Role::Clerk).is_err());
        }
        assert_eq!(Event::Terminate.outbox_action(), Some("withdraw"));
        assert_eq!(
            check_transition(CaseState::Terminated, Event::Reopen, Role::Supervisor).unwrap(),
            CaseState::Accepted
        );
        assert!(check_transition(CaseState::Terminated, Event::Reopen, Role::Clerk).is_err());
        // A result already decided is issued, not terminated.
        assert!(
            check_transition(CaseState::ResultReady, Event::Terminate, Role::Supervisor).is_err()
        );
    }

    #[test]
    fn final_states_admit_nothing() {
        let events = [
            Event::Accept,
            Event::AcceptWithGaps,
            Event::IssueNotice,
            Event::Refuse,
            Event::SignOffGaps,
            Event::SendToReview,
            Event::ApproveHandoff,
            Event::SendBack,
            Event::Dispatch,
            Event::BackOfficeReview,
            Event::Approve,
            Event::RefuseResult,
            Event::RequestSupplement,
            Event::Supplement,
            Event::ResultReady,
            Event::Issue,
            Event::Rate,
            Event::Terminate,
            Event::Reopen,
        ];
        let roles = [
            Role::Clerk,
            Role::Supervisor,
            Role::Trainer,
            Role::Admin,
            Role::System,
        ];
        for state in [
            CaseState::NotAccepted,
            CaseState::NoticeIssued,
            CaseState::Rated,
            CaseState::Terminated,
        ] {
            for event in events {
                if state == CaseState::Terminated && event == Event::Reopen {
                    continue; // the one way back, tested below
                }
                for role in roles {
                    let error = check_transition(state, event, role).unwrap_err();
                    assert_eq!(error.code(), "illegal_transition");
                }
            }
        }
        for state in CaseState::ALL {
            assert_eq!(CaseState::parse(state.as_str()).unwrap(), state);
        }
    }
}

//! The exit-code contract, documented in the README and `--help`.
//!
//! Only `main` turns an [`Exit`] into a process exit code.

/// How a consentry run ended, as a pipeline sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: success (every tenant ok, or the command did what it was asked).
    Success = 0,
    /// 1: findings: gaps a human must act on (missing roles, not consented, ...).
    Findings = 1,
    /// 2: usage or manifest error; nothing was sent.
    Usage = 2,
    /// 3: could not determine the state of at least one tenant.
    Undetermined = 3,
    /// 4: `plan --detailed-exitcode` only: the plan has actions pending (a tenant to consent,
    /// re-consent, offboard or investigate). Not combined with the others by `max`: `plan` returns
    /// it only when everything else succeeded.
    Pending = 4,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Help text listing the codes, shared by `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success: no errors; for verify, every tenant granted every required role
  1  findings: verify found gaps (missing roles, not consented, invalid tokens, ...)
  2  usage or manifest error: nothing was sent
  3  could not determine: at least one tenant's state is unknown (error, credential rejected)
  4  plan --detailed-exitcode: actions pending (consent, reconsent, offboard, investigate)";

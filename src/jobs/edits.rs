//! What an edited comment changes besides its new commands: the replies to
//! the commands it removed or replaced say so, and the reactions show the
//! latest outcome only. Also the one question about an issue's past that
//! `/retry` asks: which command failed last.

use std::collections::HashSet;

use super::journal::{JobJournalStore, JournalFailure};
use super::{replies, CommentJob};
use crate::command::Invocation;
use crate::github::types::{Reaction, ReactionItem};
use crate::github::GitHub;
use crate::store::{RequestRecord, RequestState};

/// An edit's commands: those the new body adds, and those it no longer holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Edit<'a> {
    pub added: &'a [Invocation],
    pub removed: &'a [Invocation],
}

/// The canonical line of an invocation (what the requests table records).
fn line(inv: &Invocation) -> String {
    match &inv.result {
        Ok(c) => c.to_string(),
        Err(_) => inv.text.clone(),
    }
}

/// Tells each removed command's reply, from an earlier job on this comment,
/// that an edit removed it (or replaced it, when the edit swapped one
/// command for one other). A reply already told is left as it is.
pub(super) async fn note_superseded(
    gh: &GitHub,
    store: &dyn JobJournalStore,
    job: &CommentJob,
    job_id: i64,
    edit: Edit<'_>,
) -> Result<(), JournalFailure> {
    let rows = store.issue_requests().await?;
    let replacement = match (edit.removed, edit.added) {
        ([_], [one]) => Some(line(one)),
        _ => None,
    };
    let (owner, name) = (job.repo.owner().as_str(), job.repo.name());
    for inv in edit.removed {
        let text = line(inv);
        let Some(id) = rows
            .iter()
            .rev()
            .find(|r| {
                r.comment_id == job.comment_id as i64 && r.job_id != job_id && r.command == text
            })
            .and_then(|r| r.status_comment)
            .and_then(|id| u64::try_from(id).ok())
        else {
            continue;
        };
        let Some(comment) = gh.get_comment(owner, name, id).await? else {
            continue;
        };
        let body = comment.body.unwrap_or_default();
        if replies::is_superseded(&body) {
            continue;
        }
        let new_body = replies::superseded(&body, replacement.as_deref());
        gh.update_comment(owner, name, id, &replies::bounded(&new_body))
            .await?;
    }
    Ok(())
}

/// Removes the outcome reactions (🚀, 😕) that we left on the comment before
/// `ours`, the one that tells the latest outcome.
pub(super) async fn clear_stale_reactions(
    gh: &GitHub,
    job: &CommentJob,
    ours: &ReactionItem,
) -> Result<(), JournalFailure> {
    let (owner, name) = (job.repo.owner().as_str(), job.repo.name());
    let outcomes = [Reaction::Rocket.as_str(), Reaction::Confused.as_str()];
    for r in gh
        .list_comment_reactions(owner, name, job.comment_id)
        .await?
    {
        if r.id != ours.id
            && r.user.login.eq_ignore_ascii_case(&ours.user.login)
            && outcomes.contains(&r.content.as_str())
        {
            gh.delete_comment_reaction(owner, name, job.comment_id, r.id)
                .await?;
        }
    }
    Ok(())
}

/// The command line that `/retry` runs again: the most recent command of the
/// issue whose latest outcome is a failure.
pub(super) fn last_failed(rows: &[RequestRecord]) -> Option<String> {
    let mut seen = HashSet::new();
    for r in rows.iter().rev() {
        if r.command == "/retry" || !seen.insert(r.command.as_str()) {
            continue;
        }
        if r.state == RequestState::Failed {
            return Some(r.command.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(command: &str, state: RequestState) -> RequestRecord {
        RequestRecord {
            repo: "mitx/requests".into(),
            issue: 1,
            comment_id: 1,
            author: "alice".into(),
            command: command.into(),
            command_index: 0,
            state,
            job_id: 1,
            status_comment: None,
        }
    }

    #[test]
    fn retry_finds_the_latest_command_that_still_failed() {
        use RequestState::*;
        assert_eq!(last_failed(&[]), None);
        let a = "/create-xml-repo 18.01 2019_Spring";
        let b = "/release 18.01 2018_Fall";
        assert_eq!(last_failed(&[row(a, Failed)]).as_deref(), Some(a));
        // A later success of the same command settles it.
        assert_eq!(last_failed(&[row(a, Failed), row(a, Done)]), None);
        // The most recent failure wins; mistakes and refusals are not failures.
        assert_eq!(
            last_failed(&[row(a, Failed), row(b, Failed), row("/help x", Invalid)]).as_deref(),
            Some(b)
        );
        assert_eq!(
            last_failed(&[row(a, Failed), row(b, Failed), row(b, Done)]).as_deref(),
            Some(a)
        );
        assert_eq!(last_failed(&[row("/retry", Invalid)]), None);
    }
}

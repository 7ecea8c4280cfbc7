//! Issues, comments and reactions.

#![allow(unused_imports)]

use super::*;

// ----- issues, comments, reactions ------------------------------------------------

pub(crate) async fn get_issue(State(s): State<S>, P((owner, repo, number)): P3) -> R {
    let n = parse_id(&number)?;
    s.with(|w| {
        let r = w.repo_rec(&owner, &repo).ok_or_else(not_found)?;
        let i = r.issues.get(&n).ok_or_else(not_found)?;
        reply(200, issue_json(&s, w, r, i))
    })
}

/// `PATCH /repos/{owner}/{repo}/issues/{n}`: state (open or closed, else
/// 422), title, body (https://docs.github.com/rest/issues/issues#update-an-issue).
pub(crate) async fn update_issue(
    State(s): State<S>,
    P((owner, repo, number)): P3,
    JsonObject(b): JsonObject,
) -> R {
    let n = parse_id(&number)?;
    let state = str_field(&b, "state").map(str::to_string);
    if state
        .as_deref()
        .is_some_and(|st| st != "open" && st != "closed")
    {
        return Err(invalid("Issue", "state", "invalid", None));
    }
    s.with(|w| {
        w.repo_rec(&owner, &repo).ok_or_else(not_found)?;
        let r = w.repo_mut(&owner, &repo).expect("repo");
        let i = r.issues.get_mut(&n).ok_or_else(not_found)?;
        if let Some(st) = state {
            i.state = st;
        }
        if let Some(t) = str_field(&b, "title") {
            i.title = t.to_string();
        }
        if let Some(t) = str_field(&b, "body") {
            i.body = t.to_string();
        }
        let r = w.repo_rec(&owner, &repo).expect("repo");
        let i = r.issues.get(&n).expect("issue");
        reply(200, issue_json(&s, w, r, i))
    })
}

/// The repo id of an existing issue.
pub(crate) fn issue_of(
    w: &World,
    owner: &str,
    repo: &str,
    number: &str,
) -> Result<(u64, u64), ApiError> {
    let n = parse_id(number)?;
    let r = w.repo_rec(owner, repo).ok_or_else(not_found)?;
    r.issues.get(&n).ok_or_else(not_found)?;
    Ok((r.repo.id, n))
}

pub(crate) async fn list_comments(State(s): State<S>, P((owner, repo, number)): P3, uri: Uri) -> R {
    let items = s.with(|w| {
        let (rid, n) = issue_of(w, &owner, &repo, &number)?;
        Ok(w.comments
            .values()
            .filter(|c| c.repo_id == rid && c.issue == n)
            .map(|c| comment_json(&s, w, c))
            .collect())
    })?;
    paginate(&s, &uri, items)
}

/// GitHub refuses a comment body over 65,536 characters with a 422
/// (https://docs.github.com/rest/issues/comments#create-an-issue-comment:
/// "body is too long (maximum is 65536 characters)").
pub(crate) const MAX_COMMENT_CHARS: usize = 65_536;

pub(crate) fn comment_body(b: &Value) -> Result<String, ApiError> {
    let text = str_field(b, "body")
        .ok_or_else(|| invalid("IssueComment", "body", "missing_field", None))?;
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(invalid(
            "IssueComment",
            "body",
            "custom",
            Some("body is too long (maximum is 65536 characters)"),
        ));
    }
    Ok(text.to_string())
}

pub(crate) async fn create_comment(
    State(s): State<S>,
    Extension(who): Who,
    P((owner, repo, number)): P3,
    JsonObject(b): JsonObject,
) -> R {
    let text = comment_body(&b)?;
    s.with(|w| {
        let (rid, n) = issue_of(w, &owner, &repo, &number)?;
        let id = insert_comment(w, rid, n, &who.login, &text);
        reply(201, comment_json(&s, w, &w.comments[&id]))
    })
}

/// An existing comment of the repo.
pub(crate) fn comment_of(w: &World, owner: &str, repo: &str, id: &str) -> Result<u64, ApiError> {
    let id = parse_id(id)?;
    let rid = w.repo_id(owner, repo).ok_or_else(not_found)?;
    w.comments
        .get(&id)
        .filter(|c| c.repo_id == rid)
        .ok_or_else(not_found)?;
    Ok(id)
}

pub(crate) async fn get_comment(State(s): State<S>, P((owner, repo, id)): P3) -> R {
    s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        reply(200, comment_json(&s, w, &w.comments[&id]))
    })
}

pub(crate) async fn update_comment(
    State(s): State<S>,
    P((owner, repo, id)): P3,
    JsonObject(b): JsonObject,
) -> R {
    let text = comment_body(&b)?;
    s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        let c = w.comments.get_mut(&id).expect("comment");
        c.body = text;
        c.edits += 1;
        c.updated_at = Utc::now();
        reply(200, comment_json(&s, w, &w.comments[&id]))
    })
}

pub(crate) async fn delete_comment(State(s): State<S>, P((owner, repo, id)): P3) -> R {
    s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        w.comments.remove(&id);
        no_content()
    })
}

pub(crate) fn reaction_content(b: &Value) -> Result<String, ApiError> {
    let c = str_field(b, "content")
        .ok_or_else(|| invalid("Reaction", "content", "missing_field", None))?;
    if !REACTIONS.contains(&c) {
        return Err(invalid("Reaction", "content", "invalid", None));
    }
    Ok(c.to_string())
}

/// Add a reaction to `list` unless `user` already reacted with `content`:
/// 201 with the new one, or 200 with the existing one.
pub(crate) fn add_reaction(
    s: &Shared,
    w: &mut World,
    target: ReactionTarget,
    user: &str,
    content: &str,
) -> R {
    let id = w.id();
    let list = target.list_mut(w);
    if let Some(existing) = list
        .iter()
        .find(|r| r.user.eq_ignore_ascii_case(user) && r.content == content)
        .cloned()
    {
        return reply(200, reaction_json(s, w, &existing));
    }
    let r = ReactionRec {
        id,
        user: user.to_string(),
        content: content.to_string(),
        created_at: Utc::now(),
    };
    list.push(r.clone());
    reply(201, reaction_json(s, w, &r))
}

pub(crate) enum ReactionTarget {
    Comment(u64),
    Issue(u64, u64),
}

pub(crate) fn reactions_page(s: &Shared, w: &World, list: &[ReactionRec], uri: &Uri) -> Vec<Value> {
    let want = query_get(uri, "content");
    list.iter()
        .filter(|r| want.as_deref().is_none_or(|c| r.content == c))
        .map(|r| reaction_json(s, w, r))
        .collect()
}

/// Reactions routes come in pairs, on an issue and on an issue comment
/// (https://docs.github.com/en/rest/reactions/reactions): one handler serves
/// both, told which by its `ON_COMMENT` parameter.
pub(crate) const ON_COMMENT: bool = true;
pub(crate) const ON_ISSUE: bool = false;

fn reaction_target(
    w: &World,
    on_comment: bool,
    (owner, repo, id): &(String, String, String),
) -> Result<ReactionTarget, ApiError> {
    if on_comment {
        return Ok(ReactionTarget::Comment(comment_of(w, owner, repo, id)?));
    }
    let (rid, n) = issue_of(w, owner, repo, id)?;
    Ok(ReactionTarget::Issue(rid, n))
}

pub(crate) async fn create_reaction<const ON_COMMENT: bool>(
    State(s): State<S>,
    Extension(who): Who,
    P(at): P3,
    JsonObject(b): JsonObject,
) -> R {
    let content = reaction_content(&b)?;
    s.with(|w| {
        let target = reaction_target(w, ON_COMMENT, &at)?;
        add_reaction(&s, w, target, &who.login, &content)
    })
}

pub(crate) async fn list_reactions<const ON_COMMENT: bool>(
    State(s): State<S>,
    P(at): P3,
    uri: Uri,
) -> R {
    let items = s.with(|w| {
        let target = reaction_target(w, ON_COMMENT, &at)?;
        Ok(reactions_page(&s, w, target.list(w), &uri))
    })?;
    paginate(&s, &uri, items)
}

/// `DELETE …/reactions/{reaction_id}`
/// (https://docs.github.com/en/rest/reactions/reactions#delete-an-issue-comment-reaction):
/// a user removes their own reaction; someone else's is not theirs to remove.
pub(crate) async fn delete_reaction<const ON_COMMENT: bool>(
    State(s): State<S>,
    Extension(who): Who,
    P((owner, repo, id, reaction)): P4,
) -> R {
    let reaction = parse_id(&reaction)?;
    s.with(|w| {
        let target = reaction_target(w, ON_COMMENT, &(owner, repo, id))?;
        let list = target.list_mut(w);
        let Some(pos) = list.iter().position(|r| r.id == reaction) else {
            return Err(not_found());
        };
        if !list[pos].user.eq_ignore_ascii_case(&who.login) {
            return Err(ApiError::new(403, "Must have admin rights to Repository."));
        }
        list.remove(pos);
        no_content()
    })
}

impl ReactionTarget {
    fn list<'w>(&self, w: &'w World) -> &'w [ReactionRec] {
        match *self {
            ReactionTarget::Comment(c) => &w.comments[&c].reactions,
            ReactionTarget::Issue(r, n) => &w.repos[&r].issues[&n].reactions,
        }
    }

    fn list_mut<'w>(&self, w: &'w mut World) -> &'w mut Vec<ReactionRec> {
        match *self {
            ReactionTarget::Comment(c) => &mut w.comments.get_mut(&c).expect("comment").reactions,
            ReactionTarget::Issue(r, n) => {
                let repo = w.repos.get_mut(&r).expect("repo");
                &mut repo.issues.get_mut(&n).expect("issue").reactions
            }
        }
    }
}

//! Turning the advisor's free-text search into a safe FTS5 query, and maintaining the index.

use super::MeetingId;
use rusqlite::Connection;

/// At most this many words of a search are used; more only slow the query down.
const MAX_SEARCH_WORDS: usize = 16;

/// Builds an FTS5 `MATCH` expression from any user input: every word (a run of letters and
/// digits) becomes a quoted prefix term, and all terms must match. Quotes, `*`, `AND`, `NEAR`,
/// parentheses and markup are never interpreted as query syntax. Returns `None` when the input
/// holds no word at all (the caller then applies no text filter).
pub fn fts_match_expression(user_input: &str) -> Option<String> {
    let terms: Vec<String> = user_input
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(MAX_SEARCH_WORDS)
        // A word holds only letters and digits, so it cannot contain a quote; quoting it turns
        // operators such as AND or NEAR into plain words.
        .map(|word| format!("\"{word}\"*"))
        .collect();
    if terms.is_empty() {
        None
    } else {
        Some(terms.join(" "))
    }
}

/// Rewrites the search row of one meeting from what is stored now: meeting name, invitee
/// names and e-mails, every answer, and the advisor's notes on its clients. Runs inside the
/// caller's transaction.
pub(crate) fn refresh_search_row(
    connection: &Connection,
    meeting: MeetingId,
) -> rusqlite::Result<()> {
    let body: String = connection.query_row(
        "SELECT concat_ws(' ',
                    m.name,
                    (SELECT group_concat(concat_ws(' ', i.name, i.email), ' ' ORDER BY i.invitee_uri)
                       FROM invitees i WHERE i.meeting_id = m.meeting_id),
                    (SELECT group_concat(concat_ws(' ', a.question, a.answer), ' '
                                         ORDER BY i.invitee_uri, a.position, a.answer_id)
                       FROM invitee_answers a JOIN invitees i ON i.invitee_id = a.invitee_id
                      WHERE i.meeting_id = m.meeting_id),
                    (SELECT group_concat(n.body, ' ' ORDER BY n.client_id)
                       FROM meeting_clients mc JOIN client_notes n ON n.client_id = mc.client_id
                      WHERE mc.meeting_id = m.meeting_id))
           FROM meetings m WHERE m.meeting_id = ?1",
        [meeting.0],
        |row| row.get(0),
    )?;
    connection.execute("DELETE FROM meeting_search WHERE rowid = ?1", [meeting.0])?;
    connection.execute(
        "INSERT INTO meeting_search (rowid, body) VALUES (?1, ?2)",
        rusqlite::params![meeting.0, body],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain_word("smith", Some("\"smith\"*"))]
    #[case::two_words("Ann Smith", Some("\"Ann\"* \"Smith\"*"))]
    #[case::quotes_are_dropped("\"ann", Some("\"ann\"*"))]
    #[case::operators_become_words("a AND b", Some("\"a\"* \"AND\"* \"b\"*"))]
    #[case::markup("<img src=x>", Some("\"img\"* \"src\"* \"x\"*"))]
    #[case::email("ann@example.com", Some("\"ann\"* \"example\"* \"com\"*"))]
    #[case::only_punctuation("*** \"\" ()", None)]
    #[case::empty("", None)]
    #[case::accents("Zoë", Some("\"Zoë\"*"))]
    fn user_input_becomes_quoted_prefix_terms(#[case] input: &str, #[case] expected: Option<&str>) {
        // Whatever the advisor types must reach FTS5 as plain words, never as query syntax.
        assert_eq!(
            fts_match_expression(input).as_deref(),
            expected,
            "input {input:?}"
        );
    }
}

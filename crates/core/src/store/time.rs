//! Conversion of `DateTime<Utc>` to and from the fixed-width text stored in SQLite.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A UTC instant stored as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`: fixed width, so comparing the text
/// compares the instants, and nanoseconds survive the round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SqlTime(pub DateTime<Utc>);

impl SqlTime {
    pub(crate) fn text(instant: DateTime<Utc>) -> String {
        instant.to_rfc3339_opts(SecondsFormat::Nanos, true)
    }
}

impl ToSql for SqlTime {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(Self::text(self.0)))
    }
}

impl FromSql for SqlTime {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        DateTime::parse_from_rfc3339(text)
            .map(|parsed| SqlTime(parsed.with_timezone(&Utc)))
            .map_err(|error| FromSqlError::Other(Box::new(error)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_order_is_time_order_across_fraction_lengths() {
        // Index range scans compare text, so a whole second must sort before a later fraction.
        let whole = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let later = whole + chrono::Duration::microseconds(1);
        assert!(
            SqlTime::text(whole) < SqlTime::text(later),
            "text order must follow time order"
        );
        assert_eq!(
            SqlTime::text(whole).len(),
            SqlTime::text(later).len(),
            "the format is fixed width"
        );
    }
}
